using System;
using TcpProxy.Interop.Linux;

namespace TcpProxy.Interop;

/// <summary>
/// Starting the next binary (SIGUSR2's upgrade) and watching it: Linux only.
/// On macOS each call declines with EOPNOTSUPP — posix_spawn there has no
/// close-from action, and a child holding every client socket would keep
/// the old process's connections from ever closing.
/// </summary>
public static partial class Sys
{
    /// <summary>
    /// Starts <paramref name="path"/> (argv[0] is the path) with the given
    /// environment, descriptor inherited[i] at 3 + i, and nothing else open above 2.
    /// 0 with the pid, or -errno.
    /// </summary>
    public static int Spawn(string path, string[] arguments, string[] environment, ReadOnlySpan<int> inherited, out int pid)
    {
        if (!Platform.IsLinux)
        {
            pid = -1;
            return -Errno.EOPNOTSUPP;
        }
        return LinuxSys.Spawn(path, arguments, environment, inherited, out pid);
    }

    /// <summary>The pid once it has ended (status as waitpid gives it), 0 while it runs, or -errno.</summary>
    public static int WaitNoHang(int pid, out int status)
    {
        status = 0;
        return Platform.IsLinux ? LinuxSys.WaitNoHang(pid, out status) : -Errno.EOPNOTSUPP;
    }

    /// <summary>read(2) from a pipe: the count, 0 at EOF (every writer closed), or -errno (-EAGAIN: nothing yet).</summary>
    public static unsafe long ReadPipe(int fd, byte* buffer, int length) =>
        Platform.IsLinux ? LinuxSys.ReadPipe(fd, buffer, length) : -Errno.EOPNOTSUPP;

    /// <summary>kill(2): 0 or -errno.</summary>
    public static int Kill(int pid, int signal) => Platform.IsLinux ? LinuxSys.Kill(pid, signal) : -Errno.EOPNOTSUPP;

    /// <summary>getppid(2); -1 where unsupported.</summary>
    public static int ParentProcessId() => Platform.IsLinux ? LinuxSys.ParentProcessId() : -1;

    /// <summary>"exited with status 1", "was killed by signal 9": a waitpid status in words.</summary>
    public static string DescribeExit(int status)
    {
        int signal = status & 0x7f;
        return signal == 0
            ? "exited with status " + ((status >> 8) & 0xff).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : "was killed by signal " + signal.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
