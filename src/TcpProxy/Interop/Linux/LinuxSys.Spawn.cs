using System;
using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace TcpProxy.Interop.Linux;

/// <summary>
/// posix_spawn(3) with descriptors handed down (the binary upgrade), waitpid
/// and kill for the child it starts. glibc's posix_spawn clones with
/// CLONE_VFORK and execs at once: no managed code runs in the child, which is
/// what makes starting a process safe from a multi-threaded runtime.
/// </summary>
internal static unsafe partial class LinuxSys
{
    private const string SpawnLibC = "libc.so.6";

    // glibc's <spawn.h>.
    private const short POSIX_SPAWN_SETSIGDEF = 0x04;
    private const short POSIX_SPAWN_SETSIGMASK = 0x08;
    // posix_spawn_file_actions_t is 80 bytes and posix_spawnattr_t 336 on glibc x86-64/arm64: room to spare.
    private const int SpawnStructBytes = 512;
    private const int WNOHANG = 1;

    // Signals the proxy blocks or ignores: the new program starts with the defaults.
    private static readonly int[] ResetSignals = [SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE, SIGCHLD];

    /// <summary>
    /// Starts <paramref name="path"/> with descriptor inherited[i] at 3 + i and
    /// nothing else above 2 (close_range in the child), an empty signal mask
    /// and default dispositions. 0 with the child's pid, or -errno (the
    /// exec's own failure, e.g. ENOENT or EACCES, included).
    /// </summary>
    public static int Spawn(string path, string[] argv, string[] environment, ReadOnlySpan<int> inherited, out int pid)
    {
        pid = -1;
        int firstFree = 3 + inherited.Length;
        // Moved above every target first: dup2 onto 3 + i must never clobber a source still to come.
        Span<int> moved = stackalloc int[inherited.Length];
        moved.Fill(-1);
        nint* argvBlock = null, envBlock = null;
        byte* actions = stackalloc byte[SpawnStructBytes];
        byte* attributes = stackalloc byte[SpawnStructBytes];
        bool actionsMade = false, attributesMade = false;
        int rc;
        try
        {
            for (int i = 0; i < inherited.Length; i++)
            {
                moved[i] = fcntl(inherited[i], F_DUPFD_CLOEXEC, firstFree);
                if (moved[i] < 0)
                    return -errno;
            }
            if ((rc = posix_spawn_file_actions_init(actions)) != 0)
                return -rc;
            actionsMade = true;
            for (int i = 0; i < moved.Length && rc == 0; i++)
                rc = posix_spawn_file_actions_adddup2(actions, moved[i], 3 + i);
            if (rc == 0)
                rc = posix_spawn_file_actions_addclosefrom_np(actions, firstFree);
            if (rc == 0 && (rc = posix_spawnattr_init(attributes)) == 0)
            {
                attributesMade = true;
                rc = DefaultSignals(attributes);
            }
            if (rc != 0)
                return -rc;
            argvBlock = CStrings(path, argv);
            envBlock = CStrings(null, environment);
            int child;
            rc = posix_spawn(&child, argvBlock[0], actions, attributes, argvBlock, envBlock);
            if (rc != 0)
                return -rc;
            pid = child;
            return 0;
        }
        finally
        {
            foreach (int fd in moved)
            {
                if (fd >= 0)
                    close(fd);
            }
            if (actionsMade)
                posix_spawn_file_actions_destroy(actions);
            if (attributesMade)
                posix_spawnattr_destroy(attributes);
            FreeCStrings(argvBlock);
            FreeCStrings(envBlock);
        }
    }

    private static int DefaultSignals(byte* attributes)
    {
        sigset_t empty, reset;
        sigemptyset(&empty);
        sigemptyset(&reset);
        foreach (int signal in ResetSignals)
            sigaddset(&reset, signal);
        int rc = posix_spawnattr_setsigmask(attributes, &empty);
        if (rc == 0)
            rc = posix_spawnattr_setsigdefault(attributes, &reset);
        if (rc == 0)
            rc = posix_spawnattr_setflags(attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        return rc;
    }

    // A NULL-terminated array of NUL-terminated UTF-8 strings (first, if given, then the rest).
    private static nint* CStrings(string? first, string[] rest)
    {
        int count = rest.Length + (first is null ? 0 : 1);
        var block = (nint*)NativeMemory.AllocZeroed((nuint)(count + 1), (nuint)sizeof(nint));
        int at = 0;
        if (first is not null)
            block[at++] = Marshal.StringToCoTaskMemUTF8(first);
        foreach (string item in rest)
            block[at++] = Marshal.StringToCoTaskMemUTF8(item);
        return block;
    }

    private static void FreeCStrings(nint* block)
    {
        if (block is null)
            return;
        for (nint* item = block; *item != 0; item++)
            Marshal.FreeCoTaskMem(*item);
        NativeMemory.Free(block);
    }

    /// <summary>waitpid(pid, WNOHANG): the pid with its raw status once it has ended, 0 while it runs, or -errno.</summary>
    public static int WaitNoHang(int pid, out int status)
    {
        int raw = 0;
        int rc, error = 0;
        do
        {
            rc = waitpid(pid, &raw, WNOHANG);
            error = rc < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        while (error == Errno.EINTR);
        status = raw;
        return rc >= 0 ? rc : -error;
    }

    public static long ReadPipe(int fd, byte* buffer, int length)
    {
        long n;
        do
            n = (long)read(fd, buffer, length);
        while (n < 0 && errno == Errno.EINTR);
        return n >= 0 ? n : -errno;
    }

    public static int Kill(int pid, int signal) => kill(pid, signal) == 0 ? 0 : -errno;

    public static int ParentProcessId() => getppid();

    [LibraryImport(SpawnLibC, EntryPoint = "posix_spawn")]
    private static partial int posix_spawn(int* pid, nint path, byte* fileActions, byte* attributes, nint* argv, nint* envp);

    [LibraryImport(SpawnLibC, EntryPoint = "posix_spawn_file_actions_init")]
    private static partial int posix_spawn_file_actions_init(byte* actions);

    [LibraryImport(SpawnLibC, EntryPoint = "posix_spawn_file_actions_destroy")]
    private static partial int posix_spawn_file_actions_destroy(byte* actions);

    [LibraryImport(SpawnLibC, EntryPoint = "posix_spawn_file_actions_adddup2")]
    private static partial int posix_spawn_file_actions_adddup2(byte* actions, int fd, int newFd);

    // glibc 2.34 and later (Debian 12 has 2.36).
    [LibraryImport(SpawnLibC, EntryPoint = "posix_spawn_file_actions_addclosefrom_np")]
    private static partial int posix_spawn_file_actions_addclosefrom_np(byte* actions, int from);

    [LibraryImport(SpawnLibC, EntryPoint = "posix_spawnattr_init")]
    private static partial int posix_spawnattr_init(byte* attributes);

    [LibraryImport(SpawnLibC, EntryPoint = "posix_spawnattr_destroy")]
    private static partial int posix_spawnattr_destroy(byte* attributes);

    [LibraryImport(SpawnLibC, EntryPoint = "posix_spawnattr_setflags")]
    private static partial int posix_spawnattr_setflags(byte* attributes, short flags);

    [LibraryImport(SpawnLibC, EntryPoint = "posix_spawnattr_setsigmask")]
    private static partial int posix_spawnattr_setsigmask(byte* attributes, sigset_t* mask);

    [LibraryImport(SpawnLibC, EntryPoint = "posix_spawnattr_setsigdefault")]
    private static partial int posix_spawnattr_setsigdefault(byte* attributes, sigset_t* signals);

    [LibraryImport(SpawnLibC, EntryPoint = "waitpid", SetLastError = true)]
    private static partial int waitpid(int pid, int* status, int options);
}
