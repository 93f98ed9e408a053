// The C shim: only what Swift cannot reach cleanly (packed structs, macros, struct ucred,
// sockaddr_un, variadic-free libsystemd entry points). No policy lives here: each function is a
// one-line passthrough or a struct conversion, prefixed `cs_`, returning -1 with errno set on
// failure exactly as the underlying call does.
#ifndef CSUPPORT_H
#define CSUPPORT_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

// MARK: errno

/// The calling thread's errno (a macro in C).
int cs_errno(void);

// MARK: epoll (struct epoll_event is packed on x86-64, which Swift imports badly)

/// epoll_ctl with the event's data set to `token`.
int cs_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token);
/// epoll_wait, unpacking each event into `tokens[i]` and `events[i]`.
int cs_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int maxevents, int timeout);

// MARK: descriptors (GNU extensions Swift's Glibc module does not see)

/// pipe2(2)
int cs_pipe2(int fds[2], int flags);

/// The terminal's column count for `fd` (TIOCGWINSZ; ioctl is variadic), or -1.
int cs_terminal_columns(int fd);

// MARK: Unix sockets

/// accept4(2) without the peer address.
int cs_accept4(int fd, int flags);
/// bind() to a filesystem path (fails with ENAMETOOLONG when it does not fit sun_path).
int cs_unix_bind(int fd, const char *path);
/// connect() to a filesystem path.
int cs_unix_connect(int fd, const char *path);
/// SO_PEERCRED: the peer's pid, uid and gid.
int cs_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

// MARK: signals

/// sigprocmask(SIG_BLOCK) of the given signals, and a close-on-exec, non-blocking signalfd for them.
int cs_signalfd_for(const int *signals, int count);
/// Reads one signalfd_siginfo; returns the signal number, 0 when none is pending, -1 on error.
int cs_signalfd_read(int fd);
/// Unblocks every signal of this thread (used by tests and before exec).
int cs_unblock_all_signals(void);

// MARK: process spawning

/// posix_spawnattr: empty signal mask and default dispositions for SIGPIPE/SIGTERM/SIGINT/SIGHUP,
/// optionally a new session (setsid), so a child never inherits the daemon's blocked signals.
int cs_spawnattr_init_clean(posix_spawnattr_t *attr, int new_session);

/// posix_spawn_file_actions_addchdir_np(3)
int cs_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// posix_spawn_file_actions_addclosefrom_np(3): the child closes every descriptor from `low` up,
/// so it inherits nothing but what was mapped, even from parents that leak descriptors.
int cs_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int low);

int cs_wifexited(int status);
int cs_wexitstatus(int status);
int cs_wifsignaled(int status);
int cs_wtermsig(int status);
/// A descriptor that becomes readable when the child exits (always close-on-exec). pidfd_open(2)
int cs_pidfd_open(pid_t pid);

// MARK: libsystemd (opened on first use; -ELIBACC when it cannot be)

int cs_sd_listen_fds(int unset_environment);
int cs_sd_notify(int unset_environment, const char *state);
int cs_sd_watchdog_enabled(int unset_environment, uint64_t *usec);
int cs_sd_journal_sendv(const struct iovec *iov, int n);

#endif
