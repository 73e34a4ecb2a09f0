using System;
using System.Diagnostics;
using TcpProxy.Interop;

namespace TcpProxy.Proxy;

/// <summary>A kernel pipe: the buffer of a direction in splice mode. Both ends non-blocking.</summary>
internal readonly struct Pipe
{
    public Pipe(int readFd, int writeFd)
    {
        ReadFd = readFd;
        WriteFd = writeFd;
    }

    public int ReadFd { get; }

    public int WriteFd { get; }

    public static Pipe None => new(-1, -1);

    public bool IsOpen => ReadFd >= 0;
}

/// <summary>
/// Empty kernel pipes for splice(2), lent to a direction only while it has
/// bytes in flight and taken back the moment it drains — an idle pair holds
/// no pipe (otherwise six fds a pair would cut the fan-out to a third). As
/// HAProxy's pipe.c: a free list bounded by <see cref="MaxIdle"/>, the rest
/// closed; a pipe that may still hold bytes is closed, never pooled, so a
/// pipe handed out is always empty.
///
/// Capacity: the kernel counts a pipe's capacity in page slots, not bytes,
/// and a splice from a TCP socket fills one slot per skb fragment, however
/// small. So the pipe is made larger than the buffer (at least twice it, and
/// never below the kernel's 64 KiB default) and the direction's own byte
/// count, not the pipe, enforces the high-water mark. F_SETPIPE_SZ may fail
/// (above pipe-max-size, or past the user's pipe-user-pages quota): the pipe
/// keeps what it has, which the byte count makes merely slower, never wrong.
/// </summary>
internal sealed class PipePool : IDisposable
{
    public const int DefaultMaxIdle = 64;

    /// <summary>What a new pipe holds unless resized (16 pages of 4 KiB).</summary>
    public const int KernelDefaultSize = 64 * 1024;

    // An unprivileged process may not go above /proc/sys/fs/pipe-max-size (1 MiB by default).
    private const int MaxRequestedSize = 1024 * 1024;

    private readonly int[] _idleRead;
    private readonly int[] _idleWrite;
    private int _idleCount;
    // The fewest idle pipes since the last CloseUnused: those below it were not taken all interval.
    private int _lowWater;

    public PipePool(int bufferSize, int maxIdle = DefaultMaxIdle)
    {
        if (bufferSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(bufferSize));
        if (maxIdle < 0)
            throw new ArgumentOutOfRangeException(nameof(maxIdle));
        MaxIdle = maxIdle;
        _idleRead = new int[maxIdle];
        _idleWrite = new int[maxIdle];
        RequestedSize = SizeFor(bufferSize);
    }

    /// <summary>Pipes kept open and empty for the next taker; beyond that a returned pipe is closed.</summary>
    public int MaxIdle { get; }

    /// <summary>The capacity asked of each new pipe (F_SETPIPE_SZ), or the kernel default when that suffices.</summary>
    public int RequestedSize { get; }

    /// <summary>Empty pipes waiting in the pool.</summary>
    public int Idle => _idleCount;

    /// <summary>Pipes lent out and not yet returned.</summary>
    public int InUse { get; private set; }

    /// <summary>Pipes created since start.</summary>
    public long Created { get; private set; }

    /// <summary>Times no pipe could be created (EMFILE, ENFILE, ENOMEM): the taker copied that chunk instead.</summary>
    public long CreateFailures { get; private set; }

    /// <summary>Times F_SETPIPE_SZ refused a new pipe its size (it kept the kernel's).</summary>
    public long ResizeFailures { get; private set; }

    /// <summary>Pipes closed because they were returned still holding bytes (an aborted pair).</summary>
    public long ClosedNotEmpty { get; private set; }

    /// <summary>
    /// At least twice the buffer, in the kernel's own unit (a power of two of
    /// pages), never below its default; capped where an unprivileged process must stop.
    /// </summary>
    public static int SizeFor(int bufferSize)
    {
        long wanted = Math.Max(KernelDefaultSize, 2L * bufferSize);
        long size = KernelDefaultSize;
        while (size < wanted && size < MaxRequestedSize)
            size *= 2;
        return (int)size;
    }

    /// <summary>
    /// An empty pipe from the pool, or a new one. False with the errno when
    /// none can be created (the caller falls back to copying, never fails).
    /// </summary>
    public bool TryTake(out Pipe pipe, out int errno)
    {
        errno = 0;
        if (_idleCount > 0)
        {
            _idleCount--;
            if (_idleCount < _lowWater)
                _lowWater = _idleCount;
            pipe = new Pipe(_idleRead[_idleCount], _idleWrite[_idleCount]);
            InUse++;
            return true;
        }
        int rc = Sys.CreatePipe(out int readFd, out int writeFd);
        if (rc < 0)
        {
            errno = -rc;
            CreateFailures++;
            pipe = Pipe.None;
            return false;
        }
        // A fresh pipe already has the kernel default: no fcntl when that is enough.
        if (RequestedSize > KernelDefaultSize && Sys.SetPipeSize(writeFd, RequestedSize) < 0)
            ResizeFailures++;
        Created++;
        InUse++;
        pipe = new Pipe(readFd, writeFd);
        return true;
    }

    /// <summary>
    /// Takes a pipe back. <paramref name="bytesInPipe"/> is the lender's own
    /// count of what it spliced in and not yet out: only a pipe known to be
    /// empty is kept for the next taker; one that may hold bytes (a pair
    /// aborted with data in flight) is closed, so no stale byte can ever
    /// reach another connection.
    /// </summary>
    public void Return(Pipe pipe, long bytesInPipe)
    {
        if (!pipe.IsOpen)
            return;
        Keep(pipe, bytesInPipe);
        Returned?.Invoke();
    }

    /// <summary>After each return (a <see cref="PipeReaper"/> then makes sure idle pipes get closed).</summary>
    public Action? Returned { get; set; }

    private void Keep(Pipe pipe, long bytesInPipe)
    {
        InUse--;
        if (bytesInPipe != 0)
        {
            ClosedNotEmpty++;
            Close(pipe);
            return;
        }
        Debug.Assert(Sys.ReadableBytes(pipe.ReadFd) == 0, "a pipe returned as empty holds bytes");
        if (_idleCount == MaxIdle)
        {
            Close(pipe);
            return;
        }
        _idleRead[_idleCount] = pipe.ReadFd;
        _idleWrite[_idleCount] = pipe.WriteFd;
        _idleCount++;
    }

    /// <summary>
    /// Closes every idle pipe; returns how many. At the descriptor limit a
    /// client's socket comes before a spare pipe: the listener and the
    /// connector call this before they give up on a descriptor.
    /// </summary>
    public int CloseIdle()
    {
        int closed = _idleCount;
        while (_idleCount > 0)
        {
            _idleCount--;
            Close(new Pipe(_idleRead[_idleCount], _idleWrite[_idleCount]));
        }
        _lowWater = 0;
        return closed;
    }

    /// <summary>
    /// Closes the idle pipes nobody took since the previous call (the bottom
    /// of the stack, below its low-water mark): when bulk traffic stops, its
    /// pipes' descriptors go back within two intervals. Returns how many.
    /// </summary>
    public int CloseUnused()
    {
        int unused = Math.Min(_lowWater, _idleCount);
        for (int i = 0; i < unused; i++)
            Close(new Pipe(_idleRead[i], _idleWrite[i]));
        Array.Copy(_idleRead, unused, _idleRead, 0, _idleCount - unused);
        Array.Copy(_idleWrite, unused, _idleWrite, 0, _idleCount - unused);
        _idleCount -= unused;
        _lowWater = _idleCount;
        return unused;
    }

    /// <summary>Closes the idle pipes (at exit); lent ones close as their pairs return them.</summary>
    public void Dispose() => CloseIdle();

    private static void Close(Pipe pipe)
    {
        Sys.Close(pipe.ReadFd);
        Sys.Close(pipe.WriteFd);
    }
}
