using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace TcpProxy.Interop;

/// <summary>What a descriptor refers to, as far as writing to it without blocking is concerned.</summary>
public enum DescriptorKind
{
    /// <summary>fstat failed: the descriptor is not open.</summary>
    Closed,
    /// <summary>A regular file (or a block device): a write never waits for a reader.</summary>
    RegularFile,
    Pipe,
    /// <summary>A terminal, /dev/null, /dev/full and the like.</summary>
    CharacterDevice,
    Socket,
}

/// <summary>Files and descriptors, as the log writers use them.</summary>
public static unsafe partial class Sys
{
    /// <summary>What fd is; <see cref="DescriptorKind.Closed"/> with the errno when fstat fails.</summary>
    public static DescriptorKind KindOf(int fd, out int errno)
    {
        stat status;
        if (fstat(fd, &status) < 0)
        {
            errno = LibC.errno;
            return DescriptorKind.Closed;
        }
        errno = 0;
        mode_t mode = status.st_mode;
        if (S_ISFIFO(mode))
            return DescriptorKind.Pipe;
        if (S_ISSOCK(mode))
            return DescriptorKind.Socket;
        if (S_ISCHR(mode))
            return DescriptorKind.CharacterDevice;
        return DescriptorKind.RegularFile;
    }

    /// <summary>
    /// A new, private open file description of the pipe or device behind fd,
    /// non-blocking: O_NONBLOCK lives in the description, which fd itself
    /// shares with the parent (a shell, a terminal), so it must not be set
    /// there. Linux reopens anonymous pipes through /proc; sockets refuse
    /// (ENXIO). Returns the new fd or -errno.
    /// </summary>
    public static int ReopenNonBlocking(int fd)
    {
        byte* path = stackalloc byte[32];
        int length = Encoding.ASCII.GetBytes("/proc/self/fd/" + fd.ToString(System.Globalization.CultureInfo.InvariantCulture), new System.Span<byte>(path, 31));
        path[length] = 0;
        return Result(open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0));
    }

    /// <summary>
    /// Opens a log file for appending, creating it 0644. O_NONBLOCK too: a
    /// named pipe without a reader fails at once (ENXIO) instead of blocking
    /// the open, and one with a reader never blocks a write. Returns fd or -errno.
    /// </summary>
    public static int OpenForAppend(string path)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* native = bytes)
            return Result(open(native, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0b110_100_100));
    }

    /// <summary>write(2): bytes written or -errno (-EAGAIN when a non-blocking pipe or terminal is full).</summary>
    public static long Write(int fd, byte* data, int length) => Result((long)write(fd, data, length));

    /// <summary>
    /// send(2) with MSG_DONTWAIT (non-blocking for this call only, whatever the
    /// description says) and MSG_NOSIGNAL. Bytes sent or -errno.
    /// </summary>
    public static long SendWithoutWaiting(int fd, byte* data, int length) =>
        Result((long)send(fd, data, length, MSG_DONTWAIT | MSG_NOSIGNAL));

    /// <summary>poll(2) for POLLOUT: 1 when writable (or in error), 0 on timeout, or -errno (-EINTR included).</summary>
    public static int WaitWritable(int fd, int timeoutMs)
    {
        pollfd entry = default;
        entry.fd = fd;
        entry.events = (short)POLLOUT;
        return Result(poll(&entry, 1, timeoutMs));
    }
}
