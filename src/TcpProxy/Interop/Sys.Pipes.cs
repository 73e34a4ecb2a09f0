using System.Runtime.CompilerServices;
using TcpProxy.Interop.Linux;

namespace TcpProxy.Interop;

/// <summary>
/// Kernel pipes and splice(2): zero-copy forwarding, socket to pipe to socket.
/// Linux only; on macOS each entry point returns -ENOSYS (there is no splice,
/// so --splice on is a usage error there and auto means off).
/// </summary>
public static unsafe partial class Sys
{
    /// <summary>Whether this system has splice(2) at all.</summary>
    public static bool SpliceAvailable => Platform.IsLinux;

    /// <summary>
    /// Moves up to <paramref name="length"/> bytes from fdIn to fdOut (one of
    /// them a pipe) inside the kernel, non-blocking whatever the descriptors
    /// say (SPLICE_F_NONBLOCK), pages moved rather than copied where the kernel
    /// can (SPLICE_F_MOVE). <paramref name="more"/> adds SPLICE_F_MORE: into a
    /// socket, more data follows at once (MSG_MORE). Returns the byte count, 0 at
    /// the source's EOF, or -errno; -EAGAIN when the source is empty or the
    /// destination full — the caller must know which (see PipePool).
    /// </summary>
    [MethodImpl(Inline)]
    public static long Splice(int fdIn, int fdOut, int length, bool more) =>
        Platform.IsLinux ? LinuxSys.Splice(fdIn, fdOut, length, more) : -Errno.ENOSYS;

    /// <summary>
    /// A pipe whose two ends are non-blocking and close-on-exec (pipe2).
    /// Returns 0 with both fds, or -errno (-EMFILE/-ENFILE at the descriptor
    /// limits, -ENOMEM) with both set to -1.
    /// </summary>
    public static int CreatePipe(out int readFd, out int writeFd)
    {
        if (!Platform.IsLinux)
        {
            readFd = writeFd = -1;
            return -Errno.ENOSYS;
        }
        int rc = LinuxSys.CreatePipe(out readFd, out writeFd);
        if (rc == 0)
        {
            Opened(readFd);
            Opened(writeFd);
        }
        return rc;
    }

    /// <summary>
    /// Asks for a pipe capacity of at least <paramref name="bytes"/>
    /// (fcntl F_SETPIPE_SZ; the kernel rounds up to a power of two of pages
    /// and counts it in page slots). Returns the capacity granted or -errno
    /// (-EPERM above /proc/sys/fs/pipe-max-size for an unprivileged process,
    /// -EBUSY below what the pipe holds).
    /// </summary>
    public static int SetPipeSize(int fd, int bytes) =>
        Platform.IsLinux ? LinuxSys.SetPipeSize(fd, bytes) : -Errno.ENOSYS;

    /// <summary>The pipe's capacity in bytes (fcntl F_GETPIPE_SZ), or -errno.</summary>
    public static int GetPipeSize(int fd) =>
        Platform.IsLinux ? LinuxSys.GetPipeSize(fd) : -Errno.ENOSYS;

    /// <summary>
    /// Bytes waiting to be read from fd (ioctl FIONREAD: a pipe's content, a
    /// socket's receive queue), or -errno. For checks and tests, not the hot path.
    /// </summary>
    public static int ReadableBytes(int fd) =>
        Platform.IsLinux ? LinuxSys.ReadableBytes(fd) : -Errno.ENOSYS;
}
