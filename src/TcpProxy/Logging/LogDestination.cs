using System;
using TcpProxy.Interop;

namespace TcpProxy.Logging;

/// <summary>
/// The descriptor a log writer writes to, and how it is written without
/// blocking (Linux):
/// - a pipe, FIFO or terminal is reopened through /proc/self/fd/N with
///   O_NONBLOCK: a private open file description of the same pipe or tty.
///   Setting O_NONBLOCK on fd 2 itself would change the description the
///   parent shell or terminal shares, and break it for them.
/// - a socket (systemd's journal stream) cannot be reopened (ENXIO), so it is
///   written with send(MSG_DONTWAIT | MSG_NOSIGNAL): non-blocking per call.
/// - a regular file (or /dev/null, /dev/full) is written directly: such writes
///   never wait for a reader, and epoll refuses these fds anyway (EPERM). A
///   regular file must not be reopened: fd 2 shares its offset with the shell.
/// - anything else, or a descriptor that cannot be reopened, is discarded:
///   every line is dropped and counted.
/// Not thread-safe: the writer's lock guards it.
/// </summary>
internal sealed unsafe class LogDestination
{
    private enum Method { Write, Send, Discard }

    private Method _method;

    private LogDestination(int fd, Method method, bool ownsFd, string? path)
    {
        Fd = fd;
        _method = method;
        OwnsFd = ownsFd;
        Path = path;
    }

    public int Fd { get; private set; }

    /// <summary>Whether the writer closes <see cref="Fd"/> (a reopened pipe or tty, a file it opened).</summary>
    public bool OwnsFd { get; }

    /// <summary>The file <see cref="Reopen"/> opens again; null for a descriptor handed in.</summary>
    public string? Path { get; }

    public bool IsDiscarded => _method == Method.Discard;

    /// <summary>
    /// For an fd the caller keeps open. A closed fd is discarded: its number
    /// may later be reused by a socket, which must never receive log lines.
    /// </summary>
    public static LogDestination ForDescriptor(int fd)
    {
        switch (Sys.KindOf(fd, out _))
        {
            case DescriptorKind.RegularFile:
                return new LogDestination(fd, Method.Write, ownsFd: false, null);
            case DescriptorKind.Socket:
                return new LogDestination(fd, Method.Send, ownsFd: false, null);
            case DescriptorKind.Pipe:
            case DescriptorKind.CharacterDevice:
                // Fails without /proc, or for a FIFO whose reader is gone (ENXIO): nothing could be written then.
                int reopened = Sys.ReopenNonBlocking(fd);
                return reopened >= 0
                    ? new LogDestination(reopened, Method.Write, ownsFd: true, null)
                    : new LogDestination(-1, Method.Discard, ownsFd: false, null);
            default:
                return new LogDestination(-1, Method.Discard, ownsFd: false, null);
        }
    }

    /// <summary>The file at path, opened for appending (<see cref="Sys.OpenForAppend"/>); null and -errno on failure.</summary>
    public static LogDestination? OpenFile(string path, out int error)
    {
        int fd = Sys.OpenForAppend(path);
        if (fd < 0)
        {
            error = fd;
            return null;
        }
        error = 0;
        return new LogDestination(fd, Method.Write, ownsFd: true, path);
    }

    /// <summary>Opens <see cref="Path"/> again (SIGHUP, logrotate): the new fd for <see cref="SwitchTo"/>, or -errno.</summary>
    public int Reopen() => Path is null ? -Errno.EINVAL : Sys.OpenForAppend(Path);

    /// <summary>Writes to fd from now on; the caller retires the old one.</summary>
    public void SwitchTo(int fd)
    {
        Fd = fd;
        _method = Method.Write;
    }

    /// <summary>Drops every line from now on, keeping the fd (a later reopen still retires it).</summary>
    public void StopWriting() => _method = Method.Discard;

    /// <summary>Lets go of the fd (the caller retires it if owned) and drops every line from now on.</summary>
    public void Forget()
    {
        Fd = -1;
        _method = Method.Discard;
    }

    /// <summary>send(2) to a socket, write(2) to anything else: the bytes taken, or -errno.</summary>
    public long Write(ReadOnlySpan<byte> bytes)
    {
        fixed (byte* data = bytes)
        {
            return _method == Method.Send
                ? Sys.SendWithoutWaiting(Fd, data, bytes.Length)
                : Sys.Write(Fd, data, bytes.Length);
        }
    }
}
