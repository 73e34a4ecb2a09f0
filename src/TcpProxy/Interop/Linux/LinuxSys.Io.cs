using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace TcpProxy.Interop.Linux;

internal static unsafe partial class LinuxSys
{
    public static long Receive(int fd, byte* first, int firstLength, byte* second, int secondLength)
    {
        if (secondLength == 0)
            return Result(recv(fd, first, firstLength, 0));
        iovec* vectors = stackalloc iovec[2];
        msghdr message = TwoSegments(vectors, first, firstLength, second, secondLength);
        return Result(recvmsg(fd, &message, 0));
    }

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

    public static int EventFd() => Result(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));

    public static int EventFdSignal(int fd)
    {
        ulong one = 1;
        return (int)Result((long)write(fd, &one, sizeof(ulong)));
    }

    public static long EventFdDrain(int fd)
    {
        ulong value = 0;
        long rc = Result((long)read(fd, &value, sizeof(ulong)));
        return rc < 0 ? rc : (long)value;
    }

    public static int Poll(PollFd* fds, int count, int timeoutMs)
    {
        int rc = LinuxLibC.Poll(fds, (nuint)(uint)count, timeoutMs);
        return rc >= 0 ? rc : -System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
    }
}
