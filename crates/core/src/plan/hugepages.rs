//! The hugepages a kernel command line reserves at boot, by the kernel's own rules.
//!
//! mm/hugetlb.c (Linux 5.7 and later; Documentation/admin-guide/kernel-parameters.txt) reads
//! `hugepagesz=`, `default_hugepagesz=` and `hugepages=` in command-line order:
//! - `hugepages=N` before any size applies to the default size: `default_hugepagesz=` where
//!   the command line has one (before or after), else the architecture's (2 MiB on x86).
//! - After a size, `hugepages=N` applies to the size parsed last: `hugepagesz=` or
//!   `default_hugepagesz=` (`hugepages_setup`: `parsed_hstate`).
//! - A second `hugepages=` for the same size without a `hugepagesz=` between is ignored; a
//!   `hugepages=` after a size the kernel does not take (or a repeated `hugepagesz=`) too.
//! - `hugepagesz=` of a size already given is ignored, unless it is the default size whose
//!   count is not set yet; a second `default_hugepagesz=` is ignored.
//! - `hugepages=` takes a count or, per NUMA node, `node:count,node:count` (summed).

use crate::host::kernel::same_key;

/// x86's HPAGE_SIZE: the default hugepage size without `default_hugepagesz=`.
pub const DEFAULT_KIB: u64 = 2048;

/// Pages of one size the command line reserves at boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootPool {
    pub size_kib: u64,
    pub count: u64,
}

/// Where a `hugepages=` count goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The default size, not known yet (`default_hstate_max_huge_pages`).
    Default,
    /// A size already parsed (index into the sizes).
    Size(usize),
}

#[derive(Default)]
struct Parse {
    /// Sizes in the order the kernel adds them, with their counts.
    sizes: Vec<BootPool>,
    /// The size parsed last (`parsed_hstate`).
    parsed: Option<usize>,
    /// The default size's index once `default_hugepagesz=` was taken.
    default: Option<usize>,
    /// A count given before any size.
    pending: Option<u64>,
    last: Option<Target>,
    /// Whether the last size parameter was taken (`parsed_valid_hugepagesz`).
    invalid: bool,
}

impl Parse {
    fn index(&self, size_kib: u64) -> Option<usize> {
        self.sizes.iter().position(|p| p.size_kib == size_kib)
    }

    /// `hugetlb_add_hstate`: a size already there changes nothing, not even `parsed`.
    fn add(&mut self, size_kib: u64) -> usize {
        self.index(size_kib).unwrap_or_else(|| {
            self.sizes.push(BootPool { size_kib, count: 0 });
            self.parsed = Some(self.sizes.len() - 1);
            self.sizes.len() - 1
        })
    }

    fn hugepagesz(&mut self, size: Option<u64>) {
        self.invalid = true;
        let Some(size) = size else { return };
        if let Some(i) = self.index(size) {
            // Only the default size without a count yet may be named again.
            if self.default != Some(i) || self.sizes[i].count != 0 {
                return;
            }
            self.parsed = Some(i);
        } else {
            self.add(size);
        }
        self.invalid = false;
    }

    fn default_hugepagesz(&mut self, size: Option<u64>) {
        self.invalid = true;
        if self.default.is_some() {
            return;
        }
        let Some(size) = size else { return };
        let i = self.add(size);
        self.invalid = false;
        self.default = Some(i);
        if let Some(n) = self.pending.take() {
            self.sizes[i].count = n;
        }
    }

    fn hugepages(&mut self, value: &str) {
        if self.invalid {
            self.invalid = false;
            return;
        }
        let target = self.parsed.map_or(Target::Default, Target::Size);
        if self.last == Some(target) {
            return;
        }
        let Some(count) = count(value) else { return };
        match target {
            Target::Default => self.pending = Some(count),
            Target::Size(i) => self.sizes[i].count = count,
        }
        self.last = Some(target);
    }

    /// `hugetlb_init`: without `default_hugepagesz=`, the default size is the architecture's,
    /// and a count given before any size is its count.
    fn finish(mut self) -> Vec<BootPool> {
        if self.default.is_none() {
            let i = self.add(DEFAULT_KIB);
            if let Some(n) = self.pending.take() {
                self.sizes[i].count = n;
            }
        }
        self.sizes.retain(|p| p.count > 0);
        self.sizes
    }
}

/// The pools `tokens` (a command line, in order) reserve at boot; `sizes` are the page sizes
/// this kernel takes (its /sys/kernel/mm/hugepages), others are ignored as it ignores them.
pub fn boot_pools(tokens: &[String], sizes: &[u64]) -> Vec<BootPool> {
    let mut p = Parse::default();
    let size = |v: &str| memparse_kib(v).filter(|s| sizes.contains(s));
    for t in tokens {
        let (key, value) = t.split_once('=').unwrap_or((t, ""));
        if same_key(key, "hugepagesz") {
            p.hugepagesz(size(value));
        } else if same_key(key, "default_hugepagesz") {
            p.default_hugepagesz(size(value));
        } else if same_key(key, "hugepages") {
            p.hugepages(value);
        }
    }
    p.finish()
}

/// A `hugepages=` value: a count, or `node:count,…` summed.
fn count(v: &str) -> Option<u64> {
    if !v.contains(':') {
        return v.parse().ok();
    }
    v.split(',')
        .map(|pair| {
            pair.split_once(':')
                .and_then(|(_, n)| n.parse::<u64>().ok())
        })
        .try_fold(0u64, |sum, n| sum.checked_add(n?))
}

/// The kernel's `memparse` (decimal, then an optional K, M, G, T suffix), in KiB.
fn memparse_kib(v: &str) -> Option<u64> {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    let n: u64 = v[..digits].parse().ok()?;
    let shift = match v[digits..].bytes().next().map(|b| b.to_ascii_uppercase()) {
        Some(b'K') => 10,
        Some(b'M') => 20,
        Some(b'G') => 30,
        Some(b'T') => 40,
        _ => 0,
    };
    n.checked_mul(1u64 << shift).map(|bytes| bytes / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    const X86: [u64; 2] = [2048, 1 << 20];

    fn pools(cmdline: &str) -> Vec<(u64, u64)> {
        let t: Vec<String> = cmdline.split_whitespace().map(str::to_string).collect();
        boot_pools(&t, &X86)
            .into_iter()
            .map(|p| (p.size_kib, p.count))
            .collect()
    }

    #[test]
    fn each_count_goes_to_the_size_before_it_or_the_default() {
        let g = 1 << 20;
        let cases: [(&str, &[(u64, u64)]); 13] = [
            ("quiet", &[]),
            ("hugepages=16", &[(2048, 16)]),
            // The default size is the command line's, wherever it stands.
            ("default_hugepagesz=1G hugepages=16", &[(g, 16)]),
            ("hugepages=16 default_hugepagesz=1G", &[(g, 16)]),
            ("hugepagesz=1G hugepages=16", &[(g, 16)]),
            (
                "hugepagesz=1G hugepages=4 hugepagesz=2M hugepages=512",
                &[(g, 4), (2048, 512)],
            ),
            (
                "hugepages=512 hugepagesz=1G hugepages=4",
                &[(g, 4), (2048, 512)],
            ),
            // Kernel-parameters.txt's example: the default is 1G, and 2M gets its own.
            (
                "default_hugepagesz=1G hugepagesz=1G hugepages=2 hugepagesz=2M hugepages=256",
                &[(g, 2), (2048, 256)],
            ),
            // Ignored: a second count without a size between, a size the kernel does not
            // take and the count after it, a size given twice.
            ("hugepagesz=1G hugepages=4 hugepages=8", &[(g, 4)]),
            ("hugepagesz=4M hugepages=8 hugepages=16", &[(2048, 16)]),
            (
                "hugepagesz=1G hugepages=4 hugepagesz=1G hugepages=8",
                &[(g, 4)],
            ),
            (
                "default_hugepagesz=1G default_hugepagesz=2M hugepages=3",
                &[],
            ),
            // Per node, summed.
            ("hugepagesz=1G hugepages=0:2,1:3", &[(g, 5)]),
        ];
        for (cmdline, want) in cases {
            assert_eq!(pools(cmdline), want, "{cmdline}");
        }
        assert_eq!(memparse_kib("1G"), Some(g));
        assert_eq!(memparse_kib("2097152"), Some(2048));
        assert_eq!(memparse_kib("1g"), Some(g));
        assert_eq!(memparse_kib("x"), None);
    }
}
