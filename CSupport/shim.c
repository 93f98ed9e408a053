#include "CSupport.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

int cs_errno(void) { return errno; }

int cs_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event ev = { .events = events, .data = { .u64 = token } };
    return epoll_ctl(epfd, op, fd, &ev);
}

int cs_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int maxevents, int timeout) {
    struct epoll_event evs[64];
    if (maxevents > 64) maxevents = 64;
    int n = epoll_wait(epfd, evs, maxevents, timeout);
    for (int i = 0; i < n; i++) {
        tokens[i] = evs[i].data.u64;
        events[i] = evs[i].events;
    }
    return n;
}

static int fill_sockaddr(struct sockaddr_un *addr, const char *path) {
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len >= sizeof(addr->sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(addr->sun_path, path, len + 1);
    return 0;
}

int cs_unix_bind(int fd, const char *path) {
    struct sockaddr_un addr;
    if (fill_sockaddr(&addr, path) < 0) return -1;
    return bind(fd, (struct sockaddr *)&addr, sizeof(addr));
}

int cs_unix_connect(int fd, const char *path) {
    struct sockaddr_un addr;
    if (fill_sockaddr(&addr, path) < 0) return -1;
    return connect(fd, (struct sockaddr *)&addr, sizeof(addr));
}

int cs_accept4(int fd, int flags) { return accept4(fd, NULL, NULL, flags); }

int cs_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return -1;
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}

int cs_signalfd_for(const int *signals, int count) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int cs_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof(info));
    if (n < 0) return (errno == EAGAIN) ? 0 : -1;
    if (n != sizeof(info)) return 0;
    return (int)info.ssi_signo;
}

int cs_unblock_all_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    return sigprocmask(SIG_SETMASK, &set, NULL);
}

int cs_spawnattr_init_clean(posix_spawnattr_t *attr, int new_session) {
    int rc = posix_spawnattr_init(attr);
    if (rc != 0) return rc;
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGHUP);
    posix_spawnattr_setsigmask(attr, &empty);
    posix_spawnattr_setsigdefault(attr, &defaults);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (new_session) flags |= POSIX_SPAWN_SETSID;
    return posix_spawnattr_setflags(attr, flags);
}

int cs_terminal_columns(int fd) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0) return -1;
    return ws.ws_col;
}

int cs_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

int cs_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int cs_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int low) {
    return posix_spawn_file_actions_addclosefrom_np(actions, low);
}

int cs_wifexited(int status) { return WIFEXITED(status); }
int cs_wexitstatus(int status) { return WEXITSTATUS(status); }
int cs_wifsignaled(int status) { return WIFSIGNALED(status); }
int cs_wtermsig(int status) { return WTERMSIG(status); }
int cs_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

/* libsystemd is opened on first use rather than linked: the client never talks to systemd, and
 * linking it made every `dmypy status` map libsystemd and the six libraries it pulls in (libgcrypt,
 * liblzma, libzstd, ...), about 0.6 ms and 60 page faults of a 4 ms run. The prototypes still come
 * from libsystemd-dev's headers, so a signature change is a compile error here. When the library
 * cannot be opened each call returns -ELIBACC, which callers treat as "no service manager". */
static void *libsystemd;
static pthread_once_t libsystemd_once = PTHREAD_ONCE_INIT;

static void open_libsystemd(void) { libsystemd = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE); }

static void *sd_symbol(const char *name) {
    pthread_once(&libsystemd_once, open_libsystemd);
    return libsystemd ? dlsym(libsystemd, name) : NULL;
}

#define SD_CALL(name, ...) \
    do { \
        __typeof__(&name) fn = (__typeof__(&name))sd_symbol(#name); \
        return fn ? fn(__VA_ARGS__) : -ELIBACC; \
    } while (0)

/* Without the variable systemd sets, each of these returns 0 without doing anything (their man
 * pages): answered here, so that a daemon started outside systemd never maps libsystemd and its
 * six libraries (0.6-1.3 ms of dlopen, measured, on the path to the first answer). */
int cs_sd_listen_fds(int unset_environment) {
    if (!getenv("LISTEN_FDS")) return 0;
    SD_CALL(sd_listen_fds, unset_environment);
}
int cs_sd_notify(int unset_environment, const char *state) {
    if (!getenv("NOTIFY_SOCKET")) return 0;
    SD_CALL(sd_notify, unset_environment, state);
}
int cs_sd_watchdog_enabled(int unset_environment, uint64_t *usec) {
    if (!getenv("WATCHDOG_USEC")) return 0;
    SD_CALL(sd_watchdog_enabled, unset_environment, usec);
}
int cs_sd_journal_sendv(const struct iovec *iov, int n) { SD_CALL(sd_journal_sendv, iov, n); }
