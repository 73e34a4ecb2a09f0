namespace TcpProxy.Interop.Darwin;

internal static unsafe partial class DarwinSys
{
    public static int KqueueCreate()
    {
        int kq = Result(DarwinLibC.Kqueue());
        if (kq < 0)
            return kq;
        // kqueue() takes no flags: close-on-exec comes after, as for sockets.
        int rc = Result(Fcntl(kq, DarwinConstants.F_SETFD, DarwinConstants.FD_CLOEXEC));
        if (rc < 0)
        {
            DarwinLibC.Close(kq);
            return rc;
        }
        return kq;
    }

    public static int Kevent(int kq, KEvent* changes, int changeCount, KEvent* events, int eventCapacity, TimeSpec* timeout) =>
        Result(DarwinLibC.Kevent(kq, changes, changeCount, events, eventCapacity, timeout));
}
