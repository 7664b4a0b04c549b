/* codenode-init: PID 1 of a sandboxed engine's PID namespace, and the launcher's wait outside it.
 *
 *   codenode-init PID           as an init: reap every child (the namespace's orphans come
 *                               here); when the child PID ends, exit with its exit code, or
 *                               with 128 + N if signal N killed it (a PID 1 cannot die of a
 *                               signal it sends itself).
 *   codenode-init --mirror PID  as the launcher: wait for the child PID (an init) and end as
 *                               it tells: an exit code above 128 is re-raised as that signal.
 *
 * SIGINT and SIGTERM are ignored: the backend signals the engine's process group, which
 * holds this process too, and only the engine acts on them.
 *
 * C rather than Python because every idle engine keeps one of these: a forked Python init
 * holds ~1.4 MiB of private pages, this holds a few pages (sandbox.py falls back to the Python
 * init where the binary was not built).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIGNALLED 128 /* as sandbox.SIGNALLED */
#define USAGE 64

static void die_of(int number) {
    signal(number, SIG_DFL);
    raise(number);
    _exit(SIGNALLED + number); /* SIGSTOP and the like do not end a process */
}

int main(int argc, char **argv) {
    int mirror = argc == 3 && strcmp(argv[1], "--mirror") == 0;
    if (argc != 2 + mirror)
        return USAGE;
    char *end;
    long awaited = strtol(argv[1 + mirror], &end, 10);
    if (*end != '\0' || awaited <= 0)
        return USAGE;
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGCHLD, SIG_DFL); /* an ignored SIGCHLD would let the kernel reap, unseen */
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            return 1; /* no child left: the awaited one was never ours */
        }
        if (pid != awaited)
            continue;
        if (WIFSIGNALED(status)) {
            if (mirror)
                die_of(WTERMSIG(status));
            return SIGNALLED + WTERMSIG(status);
        }
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        if (mirror && code > SIGNALLED && code < SIGNALLED + 65)
            die_of(code - SIGNALLED);
        return code;
    }
}
