using System.Threading;
using static TcpProxy.Interop.Darwin.DarwinConstants;

namespace TcpProxy.Interop.Darwin;

internal static unsafe partial class DarwinSys
{
    public static long Receive(int fd, byte* first, int firstLength, byte* second, int secondLength)
    {
        if (secondLength == 0)
            return Result(DarwinLibC.Recv(fd, first, (nuint)firstLength, 0));
        DarwinIoVec* vectors = stackalloc DarwinIoVec[2];
        DarwinMsgHdr message = TwoSegments(vectors, first, firstLength, second, secondLength);
        return Result(DarwinLibC.RecvMsg(fd, &message, 0));
    }

    /// <summary>
    /// No flags: SO_NOSIGPIPE (set on every socket) stands in for MSG_NOSIGNAL,
    /// and macOS has no MSG_MORE. Its nearest equivalent, TCP_NOPUSH, would
    /// cost two setsockopt calls per burst (set, then clear to push the tail);
    /// it is left out, so on macOS segments follow TCP_NODELAY alone.
    /// </summary>
    public static long Send(int fd, byte* first, int firstLength, byte* second, int secondLength)
    {
        if (secondLength == 0)
            return Result(DarwinLibC.Send(fd, first, (nuint)firstLength, 0));
        DarwinIoVec* vectors = stackalloc DarwinIoVec[2];
        DarwinMsgHdr message = TwoSegments(vectors, first, firstLength, second, secondLength);
        return Result(DarwinLibC.SendMsg(fd, &message, 0));
    }

    private static DarwinMsgHdr TwoSegments(DarwinIoVec* vectors, byte* first, int firstLength, byte* second, int secondLength)
    {
        vectors[0].Base = first;
        vectors[0].Length = (nuint)firstLength;
        vectors[1].Base = second;
        vectors[1].Length = (nuint)secondLength;
        DarwinMsgHdr message = default;
        message.Vectors = vectors;
        message.VectorCount = 2;
        return message;
    }

    public static int Poll(PollFd* fds, int count, int timeoutMs) => Result(DarwinLibC.Poll(fds, (uint)count, timeoutMs));

    public static long Write(int fd, byte* data, int length) => Result(DarwinLibC.Write(fd, data, (nuint)length));

    // MSG_DONTWAIT only: a SIGPIPE cannot kill us, the .NET runtime ignores it
    // (SigIgn shows it on Linux; the same System.Native code runs on macOS).
    public static long SendWithoutWaiting(int fd, byte* data, int length) =>
        Result(DarwinLibC.Send(fd, data, (nuint)length, MSG_DONTWAIT));

    // No eventfd on macOS: a self-pipe. The loop watches the read end (the fd
    // callers see); the write end is kept here, found by the read end's
    // number, and closed with it. Wake-ups are few (the signal handler's), so
    // a short list will do; it is written before the handler can run and read
    // from the signal thread with volatile loads.
    private const int WakeupSlots = 8;
    private static readonly int[] s_wakeupReaders = [-1, -1, -1, -1, -1, -1, -1, -1];
    private static readonly int[] s_wakeupWriters = [-1, -1, -1, -1, -1, -1, -1, -1];
    private static readonly object s_wakeupGate = new();

    public static int WakeupCreate()
    {
        int* fds = stackalloc int[2];
        int rc = Result(DarwinLibC.Pipe(fds));
        if (rc < 0)
            return rc;
        rc = MakeNonBlockingCloseOnExec(fds[0]);
        if (rc == 0)
            rc = MakeNonBlockingCloseOnExec(fds[1]);
        if (rc == 0)
            rc = WakeupRemember(fds[0], fds[1]);
        if (rc < 0)
        {
            DarwinLibC.Close(fds[0]);
            DarwinLibC.Close(fds[1]);
            return rc;
        }
        return fds[0];
    }

    public static int WakeupSignal(int fd)
    {
        int writer = WakeupWriter(fd);
        if (writer < 0)
            return -Errno.EBADF;
        byte one = 1;
        long rc = Result(DarwinLibC.Write(writer, &one, 1));
        // A full pipe already holds a wake-up: the loop will run.
        return rc == -Errno.EAGAIN ? 0 : (int)rc;
    }

    public static long WakeupDrain(int fd)
    {
        byte* sink = stackalloc byte[64];
        long total = 0;
        while (true)
        {
            long rc = Result(DarwinLibC.Read(fd, sink, 64));
            if (rc > 0)
            {
                total += rc;
                continue;
            }
            if (rc == -Errno.EINTR)
                continue;
            return total > 0 ? total : rc == 0 ? -Errno.EAGAIN : rc;
        }
    }

    private static int WakeupRemember(int reader, int writer)
    {
        lock (s_wakeupGate)
        {
            for (int i = 0; i < WakeupSlots; i++)
            {
                if (s_wakeupReaders[i] >= 0)
                    continue;
                Volatile.Write(ref s_wakeupWriters[i], writer);
                Volatile.Write(ref s_wakeupReaders[i], reader);
                return 0;
            }
        }
        return -Errno.EMFILE;
    }

    private static int WakeupWriter(int reader)
    {
        for (int i = 0; i < WakeupSlots; i++)
        {
            if (Volatile.Read(ref s_wakeupReaders[i]) == reader)
                return Volatile.Read(ref s_wakeupWriters[i]);
        }
        return -1;
    }

    /// <summary>Forgets a wake-up pipe by its read end; returns its write end, -1 if fd is not one.</summary>
    private static int WakeupForget(int reader)
    {
        for (int i = 0; i < WakeupSlots; i++)
        {
            if (Volatile.Read(ref s_wakeupReaders[i]) != reader)
                continue;
            lock (s_wakeupGate)
            {
                int writer = s_wakeupWriters[i];
                Volatile.Write(ref s_wakeupReaders[i], -1);
                Volatile.Write(ref s_wakeupWriters[i], -1);
                return writer;
            }
        }
        return -1;
    }
}
