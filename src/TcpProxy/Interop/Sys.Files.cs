using System.Runtime.CompilerServices;
using System.Text;
using TcpProxy.Interop.Darwin;
using TcpProxy.Interop.Linux;

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
    public static DescriptorKind KindOf(int fd, out int errno) =>
        Platform.IsDarwin ? DarwinSys.KindOf(fd, out errno) : LinuxSys.KindOf(fd, out errno);

    /// <summary>
    /// st_dev and st_ino of what fd refers to (fstat), the pair that names an
    /// open file (systemd's JOURNAL_STREAM names the journal's socket so);
    /// 0 or -errno.
    /// </summary>
    public static int FileIdentity(int fd, out ulong device, out ulong inode) =>
        Platform.IsDarwin ? DarwinSys.FileIdentity(fd, out device, out inode) : LinuxSys.FileIdentity(fd, out device, out inode);

    /// <summary>
    /// A new, private open file description of the pipe or device behind fd,
    /// non-blocking: O_NONBLOCK lives in the description, which fd itself
    /// shares with the parent (a shell, a terminal), so it must not be set
    /// there. Linux reopens anonymous pipes through /proc; macOS reopens a
    /// terminal or device by its path and, having no way to reopen an
    /// anonymous pipe, duplicates it non-blocking (see DarwinSys). Sockets
    /// refuse (ENXIO). Returns the new fd or -errno.
    /// </summary>
    public static int ReopenNonBlocking(int fd) =>
        Opened(Platform.IsDarwin ? DarwinSys.ReopenNonBlocking(fd) : LinuxSys.ReopenNonBlocking(fd));

    /// <summary>
    /// Opens a log file for appending, creating it 0644. O_NONBLOCK too: a
    /// named pipe without a reader fails at once (ENXIO) instead of blocking
    /// the open, and one with a reader never blocks a write. Returns fd or -errno.
    /// </summary>
    public static int OpenForAppend(string path)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* native = bytes)
            return Opened(Platform.IsDarwin ? DarwinSys.OpenForAppend(native) : LinuxSys.OpenForAppend(native));
    }

    /// <summary>write(2): bytes written or -errno (-EAGAIN when a non-blocking pipe or terminal is full).</summary>
    [MethodImpl(Inline)]
    public static long Write(int fd, byte* data, int length) =>
        Platform.IsDarwin ? DarwinSys.Write(fd, data, length) : LinuxSys.Write(fd, data, length);

    /// <summary>
    /// send(2) with MSG_DONTWAIT (non-blocking for this call only, whatever the
    /// description says) and, on Linux, MSG_NOSIGNAL. Bytes sent or -errno.
    /// </summary>
    [MethodImpl(Inline)]
    public static long SendWithoutWaiting(int fd, byte* data, int length) =>
        Platform.IsDarwin ? DarwinSys.SendWithoutWaiting(fd, data, length) : LinuxSys.SendWithoutWaiting(fd, data, length);

    /// <summary>poll(2) for POLLOUT: 1 when writable (or in error), 0 on timeout, or -errno (-EINTR included).</summary>
    public static int WaitWritable(int fd, int timeoutMs)
    {
        PollFd entry = default;
        entry.Fd = fd;
        entry.Events = PollOut;
        return Poll(&entry, 1, timeoutMs);
    }
}
