using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace TcpProxy.Interop;

public static unsafe partial class Sys
{
    /// <summary>
    /// Reads into up to two segments (a ring buffer's free space wraps) in one
    /// syscall. Returns the byte count, 0 at EOF, or -errno.
    /// </summary>
    public static long Receive(int fd, byte* first, int firstLength, byte* second, int secondLength)
    {
        if (secondLength == 0)
            return Result(recv(fd, first, firstLength, 0));
        iovec* vectors = stackalloc iovec[2];
        msghdr message = TwoSegments(vectors, first, firstLength, second, secondLength);
        return Result(recvmsg(fd, &message, 0));
    }

    /// <summary>
    /// Writes up to two segments in one syscall with MSG_NOSIGNAL, so a peer
    /// that has gone away is an EPIPE, not a signal. <paramref name="more"/>
    /// adds MSG_MORE: more data follows at once, so the kernel may hold a
    /// partial segment back despite TCP_NODELAY. Returns bytes written or -errno.
    /// </summary>
    public static long Send(int fd, byte* first, int firstLength, byte* second, int secondLength, bool more)
    {
        int flags = more ? MSG_NOSIGNAL | MSG_MORE : MSG_NOSIGNAL;
        if (secondLength == 0)
            return Result(send(fd, first, firstLength, flags));
        iovec* vectors = stackalloc iovec[2];
        msghdr message = TwoSegments(vectors, first, firstLength, second, secondLength);
        return Result(sendmsg(fd, &message, flags));
    }

    private static msghdr TwoSegments(iovec* vectors, byte* first, int firstLength, byte* second, int secondLength)
    {
        vectors[0].iov_base = first;
        vectors[0].iov_len = firstLength;
        vectors[1].iov_base = second;
        vectors[1].iov_len = secondLength;
        msghdr message = default;
        message.msg_iov = vectors;
        message.msg_iovlen = 2;
        return message;
    }

    /// <summary>A non-blocking eventfd: the thread-safe way to wake the loop.</summary>
    public static int EventFd() => Result(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));

    /// <summary>Adds one to an eventfd counter; safe from any thread.</summary>
    public static int EventFdSignal(int fd)
    {
        ulong one = 1;
        return (int)Result((long)write(fd, &one, sizeof(ulong)));
    }

    /// <summary>Reads and resets an eventfd counter; -EAGAIN when it was zero.</summary>
    public static long EventFdDrain(int fd)
    {
        ulong value = 0;
        long rc = Result((long)read(fd, &value, sizeof(ulong)));
        return rc < 0 ? rc : (long)value;
    }
}
