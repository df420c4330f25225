//! Display sockets from the worker program to the app: the app asks `passagectl-vm
//! graphics-fds NAME` on a Unix socket (one byte: the display's index), and the program
//! answers with libvirt's new socket attached (SCM_RIGHTS), or with why not. The app never
//! links libvirt; the socket it gets is QEMU's, with no copy in between.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};

use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};

/// The first byte of an answer that carries a socket; any other starts an error text.
const OK: u8 = 0;
const FAILED: u8 = 1;

/// Answers requests on `socket` with `open(index)` until the other end closes it.
pub fn serve(
    socket: impl AsFd,
    mut open: impl FnMut(u32) -> Result<OwnedFd, String>,
) -> std::io::Result<()> {
    loop {
        let mut byte = [0u8; 1];
        let got = recvmsg(
            &socket,
            &mut [IoSliceMut::new(&mut byte)],
            &mut RecvAncillaryBuffer::default(),
            RecvFlags::empty(),
        )?;
        if got.bytes == 0 {
            return Ok(());
        }
        match open(u32::from(byte[0])) {
            Ok(fd) => {
                let fds = [fd.as_fd()];
                let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
                let mut control = SendAncillaryBuffer::new(&mut space);
                control.push(SendAncillaryMessage::ScmRights(&fds));
                sendmsg(
                    &socket,
                    &[IoSlice::new(&[OK])],
                    &mut control,
                    SendFlags::empty(),
                )?;
            }
            Err(why) => {
                let mut text = vec![FAILED];
                text.extend(why.bytes().take(4000));
                sendmsg(
                    &socket,
                    &[IoSlice::new(&text)],
                    &mut SendAncillaryBuffer::default(),
                    SendFlags::empty(),
                )?;
            }
        }
    }
}

/// Asks the program on `socket` for a new socket to display `index`: the socket, or why not.
pub fn request(socket: impl AsFd, index: u8) -> Result<OwnedFd, String> {
    let io = |e: std::io::Error| e.to_string();
    sendmsg(
        &socket,
        &[IoSlice::new(&[index])],
        &mut SendAncillaryBuffer::default(),
        SendFlags::empty(),
    )
    .map_err(|e| io(e.into()))?;
    let mut text = [0u8; 4096];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let got = recvmsg(
        &socket,
        &mut [IoSliceMut::new(&mut text)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )
    .map_err(|e| io(e.into()))?;
    let fd = control.drain().find_map(|m| match m {
        RecvAncillaryMessage::ScmRights(mut fds) => fds.next(),
        _ => None,
    });
    match (text.first(), fd) {
        (Some(&OK), Some(fd)) if got.bytes > 0 => Ok(fd),
        _ if got.bytes == 0 => Err("the display program ended".into()),
        _ => Err(String::from_utf8_lossy(&text[1..got.bytes]).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_socket_crosses_and_a_refusal_says_why() {
        let (app, worker) = UnixStream::pair().expect("pair");
        let server = std::thread::spawn(move || {
            serve(&worker, |i| match i {
                0 => {
                    let (mine, theirs) = UnixStream::pair().map_err(|e| e.to_string())?;
                    std::thread::spawn(move || {
                        let mut mine = mine;
                        let _ = mine.write_all(b"REDQ");
                    });
                    Ok(OwnedFd::from(theirs))
                }
                _ => Err("no display 1".into()),
            })
        });
        let fd = request(&app, 0).expect("a socket");
        let mut got = String::new();
        UnixStream::from(fd).read_to_string(&mut got).expect("read");
        assert_eq!(got, "REDQ");
        assert_eq!(request(&app, 1).expect_err("refused"), "no display 1");
        drop(app);
        server.join().expect("join").expect("served");
    }
}
