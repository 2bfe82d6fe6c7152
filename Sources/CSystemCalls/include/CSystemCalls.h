#ifndef CSYSTEMCALLS_H
#define CSYSTEMCALLS_H

// System calls Swift cannot make directly (variadic, macro-based or missing from Glibc's module):
// used by command agents (waiting for a child with a timeout) and the optional watcher.

/// A file descriptor that becomes readable when process `pid` exits (Linux pidfd_open), or -1 where the
/// kernel lacks it. Lets a parent wait for a child with a timeout without sleeping in steps.
int cairn_pidfd_open(int pid);

/// The user id of the process at the other end of a connected Unix socket (SO_PEERCRED), or -1.
long cairn_peer_uid(int fd);

/// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and returns a signalfd that becomes readable
/// when one arrives (-1 on failure). Call it before starting other threads, which inherit the mask.
int cairn_termination_signal_fd(void);

/// Starts `path` as a daemon: a session of its own (no controlling terminal, no hang-up when the
/// terminal closes), default signal dispositions, stdin from /dev/null, stdout and stderr to `outfd`,
/// no other descriptor inherited. Returns the pid, or minus the error number.
int cairn_spawn_detached(const char *path, char *const argv[], char *const envp[], int outfd);

/// Flushes every file of the file system that holds `path` to the disk (syncfs(2)): 0, or minus the error number.
int cairn_sync_file_system(const char *path);

/// The file system type of `path` (`f_type` of statfs(2), e.g. 0x6969 for NFS), or -1 when it cannot be read.
long cairn_file_system_type(const char *path);

#endif
