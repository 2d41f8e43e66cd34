//! Starting one stream process: the node runs its own binary as `render-node stream-child`
//! with one end of a socket pair as its stdin, puts it in the stream's cgroup (when the
//! node has them), and reads what it says on a thread of its own.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use uuid::Uuid;

use super::limits::{Budget, Cgroups};
use super::protocol::{FromChild, read_frame};

/// A running stream process and the node's side of its socket.
pub struct Spawned {
    pub child: Child,
    /// Where the node writes requests (a clone of the socket the reader reads).
    pub writer: UnixStream,
    /// Everything the child says, in order; disconnected once its socket closes.
    pub messages: Receiver<FromChild>,
    pub reader: JoinHandle<()>,
    /// The stream's cgroup, when it has one.
    pub cgroup: Option<PathBuf>,
}

/// Starts `exe stream-child` for `stream_id`. The caller's thread must outlive the child:
/// the child is killed when the thread that started it ends (`PR_SET_PDEATHSIG`).
pub fn spawn(
    exe: &Path,
    stream_id: Uuid,
    budget: &Budget,
    cgroups: Option<&Cgroups>,
) -> std::io::Result<Spawned> {
    let (ours, theirs) = UnixStream::pair()?;
    let mut cmd = Command::new(exe);
    cmd.arg("stream-child")
        .arg("--stream-id")
        .arg(stream_id.to_string())
        .arg("--parent")
        .arg(std::process::id().to_string());
    if cgroups.is_none() {
        cmd.arg("--address-space")
            .arg(budget.address_space().to_string());
    }
    // Logs go where the node's go (stdout and stderr are inherited). Its own process
    // group: a Ctrl-C meant for the node is the node's to handle (it drains its streams).
    let child = cmd
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .process_group(0)
        .spawn()?;
    let cgroup = match cgroups.map(|c| c.place(stream_id, child.id(), budget)) {
        Some(Ok(dir)) => Some(dir),
        Some(Err(e)) => {
            tracing::warn!(%stream_id, error = %e, "stream process not in its cgroup: unlimited");
            None
        }
        None => None,
    };
    let writer = ours.try_clone()?;
    let (tx, messages) = mpsc::channel();
    let reader = std::thread::Builder::new()
        .name(format!("child-{}", &stream_id.simple().to_string()[..8]))
        .spawn(move || read_all(ours, tx))?;
    Ok(Spawned {
        child,
        writer,
        messages,
        reader,
        cgroup,
    })
}

fn read_all(mut socket: UnixStream, tx: Sender<FromChild>) {
    loop {
        match read_frame::<FromChild>(&mut socket) {
            Ok(Some(msg)) => {
                if tx.send(msg).is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                // A garbled frame: the child is broken; its socket is done with.
                tracing::warn!(error = %e, "unreadable message from a stream process");
                return;
            }
        }
    }
}
