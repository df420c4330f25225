//! What wraps libvirt's and QEMU's message when users paste it, read through: virt-manager's
//! Python traceback, KubeVirt's JSON log lines (the message JSON-escaped inside "msg" or
//! "reason"), timestamps from QEMU's log, the journal and dmesg, Proxmox's `TASK ERROR:`, and a
//! dialog's line wrapping. What is left is the messages, one line each, for the rules and the
//! subject to read.

/// The messages inside `text`, wrappers removed.
pub(super) fn read_through(text: &str) -> String {
    let mut out: Vec<Line> = vec![];
    let mut in_traceback = false;
    let mut after_break = true;
    for line in text.lines() {
        if line
            .trim_start()
            .starts_with("Traceback (most recent call last)")
        {
            in_traceback = true;
            continue;
        }
        // A traceback's frames are indented ("  File ...", the code, "^^^^"); the exception
        // line that ends it is not, and holds libvirt's message.
        if in_traceback && (line.trim().is_empty() || line.starts_with([' ', '\t'])) {
            continue;
        }
        if in_traceback || line.trim().is_empty() {
            after_break = true;
        }
        in_traceback = false;
        match json_messages(line) {
            Some(messages) => out.extend(messages.iter().map(|m| Line::new(m, false))),
            None => out.push(Line::new(line, !after_break)),
        }
        after_break = line.trim().is_empty();
    }
    out.retain(|l| !l.text.is_empty());
    out.dedup_by(|a, b| a.text == b.text);
    join_wrapped(&out)
}

/// One message line, and whether it may be the rest of the line before it.
struct Line {
    text: String,
    may_continue: bool,
}

impl Line {
    fn new(raw: &str, adjacent: bool) -> Line {
        let (text, stamped) = strip_prefixes(raw);
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        Line {
            may_continue: adjacent && !stamped,
            text,
        }
    }
}

/// A JSON log line's messages ("msg", "reason", "message", "error"), unescaped.
fn json_messages(line: &str) -> Option<Vec<String>> {
    let t = line.trim();
    if !(t.starts_with('{') && t.ends_with('}')) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(t).ok()?;
    let obj = v.as_object()?;
    Some(
        ["msg", "reason", "message", "error"]
            .iter()
            .filter_map(|k| obj.get(*k)?.as_str().map(str::to_string))
            .collect(),
    )
}

/// The line without the stamps in front of the message: dmesg's `[ 1530.023314] `, an ISO
/// timestamp (`2023-05-10T13:20:41.595769Z `), Proxmox's `TASK ERROR: `, virt-manager's
/// exception class (`libvirt.libvirtError: `); and whether there was one (a new log record).
fn strip_prefixes(line: &str) -> (String, bool) {
    let line = line.trim();
    let mut s = line;
    loop {
        let before = s;
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('[') {
            if let Some((stamp, rest)) = rest.split_once(']') {
                if stamp.trim().chars().all(|c| c.is_ascii_digit() || c == '.') {
                    s = rest;
                }
            }
        }
        s = strip_iso_timestamp(s);
        for p in ["TASK ERROR: ", "libvirt.libvirtError: ", "libvirtError: "] {
            s = s.strip_prefix(p).unwrap_or(s);
        }
        if s == before {
            return (s.to_string(), s.len() != line.len());
        }
    }
}

/// `2024-01-11T08:23:30.351153Z ` or `2019-06-16 04:50:50.126+0000: ` at the start, removed.
fn strip_iso_timestamp(s: &str) -> &str {
    let b = s.as_bytes();
    let date = b.len() > 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b' ')
        && b[13] == b':'
        && b[16] == b':';
    if !date {
        return s;
    }
    let end = s.find(' ').filter(|i| *i > 10);
    // "2019-06-16 04:50:50.126+0000: ": the date and the time are two words.
    let end = match end {
        Some(10) | None => s[11..].find(' ').map(|i| i + 11),
        e => e,
    };
    end.map_or(s, |i| s[i..].trim_start_matches([' ', ':']))
}

/// Lines a dialog or a terminal wrapped in mid-sentence, joined again: a line that does not end
/// a sentence, followed right after by one that starts in lowercase and is not a new record
/// ("Could" / "not run ..."; not "qemu-kvm: ...").
fn join_wrapped(lines: &[Line]) -> String {
    let mut out = String::new();
    for l in lines {
        let first_word = l.text.split(' ').next().unwrap_or("");
        let continues = l.may_continue
            && !out.is_empty()
            && !out.ends_with(['.', ':', '!', '?', ')', '\''])
            && l.text
                .starts_with(|c: char| c.is_ascii_lowercase() || c == '\'')
            && !first_word.ends_with(':');
        if !out.is_empty() {
            out.push(if continues { ' ' } else { '\n' });
        }
        out.push_str(&l.text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::read_through;

    #[test]
    fn a_traceback_leaves_its_exception_line() {
        let t = "Error starting domain: network 'default' is not active\n\nTraceback (most recent call last):\n  File \"/usr/share/virt-manager/virtManager/asyncjob.py\", line 72, in cb_wrapper\n    callback(asyncjob, *args, **kwargs)\n          ^^^^^^^^\nlibvirt.libvirtError: network 'default' is not active";
        assert_eq!(
            read_through(t),
            "Error starting domain: network 'default' is not active\nnetwork 'default' is not active"
        );
    }

    #[test]
    fn a_json_log_line_gives_its_message_unescaped() {
        let t = r#"{"component":"virt-launcher","level":"error","msg":"qemu-kvm: -blockdev {\"driver\":\"file\"}: Could not open '/d/x.img': Permission denied","pos":"q:1","timestamp":"2024-01-11T08:23:30.402000Z"}"#;
        assert_eq!(
            read_through(t),
            r#"qemu-kvm: -blockdev {"driver":"file"}: Could not open '/d/x.img': Permission denied"#
        );
    }

    #[test]
    fn stamps_and_task_error_go() {
        assert_eq!(
            read_through("[ 1530.023314] vfio-pci 0000:01:00.0: x\n2024-01-11T08:23:30.351153Z qemu-kvm: y\n2019-06-16 04:50:50.126+0000: Domain id=2\nTASK ERROR: start failed: z"),
            "vfio-pci 0000:01:00.0: x\nqemu-kvm: y\nDomain id=2\nstart failed: z"
        );
    }

    #[test]
    fn a_wrapped_dialog_line_is_joined() {
        assert_eq!(
            read_through("internal error: Could\nnot run '/usr/bin/swtpm_setup'.\nexitstatus: 1"),
            "internal error: Could not run '/usr/bin/swtpm_setup'.\nexitstatus: 1"
        );
    }
}
