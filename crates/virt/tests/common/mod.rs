pub mod libvirtd;
