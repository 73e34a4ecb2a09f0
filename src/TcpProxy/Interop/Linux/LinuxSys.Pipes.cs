using static Tmds.Linux.LibC;

namespace TcpProxy.Interop.Linux;

internal static unsafe partial class LinuxSys
{
    public static long Splice(int fdIn, int fdOut, int length, bool more)
    {
        uint flags = more ? (uint)(SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE) : (uint)(SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        return Result((long)splice(fdIn, null, fdOut, null, length, flags));
    }

    public static int CreatePipe(out int readFd, out int writeFd)
    {
        int* fds = stackalloc int[2];
        int rc = Result(pipe2(fds, O_NONBLOCK | O_CLOEXEC));
        readFd = rc < 0 ? -1 : fds[0];
        writeFd = rc < 0 ? -1 : fds[1];
        return rc;
    }

    public static int SetPipeSize(int fd, int bytes) => Result(fcntl(fd, F_SETPIPE_SZ, bytes));

    public static int GetPipeSize(int fd) => Result(fcntl(fd, F_GETPIPE_SZ));

    public static int ReadableBytes(int fd)
    {
        int count = 0;
        int rc = Result(ioctl(fd, FIONREAD, &count));
        return rc < 0 ? rc : count;
    }
}
