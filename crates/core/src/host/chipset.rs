//! The chipset's own functions: what the platform runs on, never a VM's.
//!
//! By PCI class code (the PCI-SIG class list as pci.ids and the kernel's `pci_ids.h` spell it):
//! host bridges (06/00, 06/0a), ISA/LPC, EISA and MicroChannel bridges (06/01–03), RAM, flash
//! and CXL memory controllers (05/00–02), the system peripherals a board is built from (08/00
//! interrupt controller, 08/01 DMA, 08/02 timer, 08/03 RTC, 08/04 hot-plug controller, 08/06
//! IOMMU, 08/07 root complex event collector), SMBus (0c/05) and IPMI (0c/07). Classes that
//! add-in cards use too — other memory controller (05/80, many FPGA boards), other bridge
//! (06/80), other system peripheral (08/80), other serial bus (0c/80: the PCH's SPI flash and
//! I²C controllers), signal processing (11: thermal, sensor hubs, performance counters) — are
//! the chipset's when they are the platform's: on a root bus (root-complex integrated), or
//! from the host bridge's vendor directly behind a root-bus bridge (AMD's internal bridges).
//! PCI-to-PCI bridges (06/04, 06/09) are not here: they stay with the host's PCI tree without
//! making a group unusable ([`super::Host::endpoints`]).

use serde::{Deserialize, Serialize};

use super::pci::PciDevice;
use crate::i18n::tr;

/// Which of the chipset's functions a device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChipsetFunction {
    HostBridge,
    /// ISA/LPC (and EISA, MicroChannel) bridge: SuperIO, TPM, watchdog, firmware flash.
    IsaBridge,
    OtherBridge,
    MemoryController,
    SystemPeripheral,
    Smbus,
    Ipmi,
    /// SPI flash, I²C and other serial buses of the platform.
    SerialBus,
    /// Thermal, sensor hubs, performance counters.
    SignalProcessing,
}

impl ChipsetFunction {
    /// What the function is, translated.
    pub fn words(self) -> String {
        match self {
            ChipsetFunction::HostBridge => tr("the host bridge"),
            ChipsetFunction::IsaBridge => {
                tr("the ISA/LPC bridge (firmware, TPM, sensors, watchdog)")
            }
            ChipsetFunction::OtherBridge => tr("a bridge of the chipset"),
            ChipsetFunction::MemoryController => tr("a memory controller"),
            ChipsetFunction::SystemPeripheral => {
                tr("a system peripheral of the board (interrupts, timers, IOMMU)")
            }
            ChipsetFunction::Smbus => tr("the SMBus controller (memory and sensor information)"),
            ChipsetFunction::Ipmi => tr("the IPMI interface to the management controller"),
            ChipsetFunction::SerialBus => {
                tr("a serial bus controller of the chipset (SPI flash, I²C)")
            }
            ChipsetFunction::SignalProcessing => {
                tr("a thermal or signal-processing function of the chipset")
            }
        }
    }
}

/// The chipset function `d` is, if any; `all` are the host's devices (for where it sits).
pub fn function(d: &PciDevice, all: &[PciDevice]) -> Option<ChipsetFunction> {
    use ChipsetFunction as F;
    let class = d.class >> 8;
    let always = match class {
        0x0600 | 0x060a => Some(F::HostBridge),
        0x0601..=0x0603 => Some(F::IsaBridge),
        0x0500..=0x0502 => Some(F::MemoryController),
        0x0800..=0x0804 | 0x0806 | 0x0807 => Some(F::SystemPeripheral),
        0x0c05 => Some(F::Smbus),
        0x0c07 => Some(F::Ipmi),
        _ => None,
    };
    if always.is_some() {
        return always;
    }
    let if_platform = match class {
        0x0580 => F::MemoryController,
        0x0680 => F::OtherBridge,
        0x0880 => F::SystemPeripheral,
        0x0c80 => F::SerialBus,
        0x1100..=0x11ff => F::SignalProcessing,
        _ => return None,
    };
    of_platform(d, all).then_some(if_platform)
}

/// On a root bus, or from the host bridge's vendor directly behind a bridge on a root bus.
fn of_platform(d: &PciDevice, all: &[PciDevice]) -> bool {
    let Some(parent) = d.parent else {
        return true;
    };
    let find = |a| all.iter().find(|x| x.address == a);
    let parent_on_root = find(parent).is_some_and(|p| p.parent.is_none());
    let host_vendor = all
        .iter()
        .any(|h| h.class >> 8 == 0x0600 && h.vendor_id == d.vendor_id);
    parent_on_root && host_vendor
}
