//! Blocking work off the main loop: the libvirt connection lives in one worker thread.
//! (Helper calls are async D-Bus calls made from relm4 commands in the pages.)

pub mod libvirt;
pub mod unattended;
