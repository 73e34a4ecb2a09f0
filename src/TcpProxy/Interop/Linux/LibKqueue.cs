using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace TcpProxy.Interop.Linux;

/// <summary>
/// kqueue() and kevent() from libkqueue (github.com/mheily/libkqueue, the
/// kqueue API over epoll), loaded from the path in $LIBKQUEUE: a testing aid
/// that runs the kqueue backend on Linux, not a production backend
/// (docs/kqueue-libkqueue.md). Loaded once, by path, with NativeLibrary and
/// called through function pointers, so NativeAOT needs no import of its own
/// and a machine without the library never looks for it. Its struct kevent
/// on x86-64 and arm64 Linux is macOS's: 32 bytes, the same offsets and the
/// same EV_* and EVFILT_* values, so <see cref="KEvent"/> serves both; its
/// EV_ERROR entries carry Linux errno values.
/// </summary>
internal static unsafe class LibKqueue
{
    /// <summary>The environment variable naming the shared library.</summary>
    public const string Variable = "LIBKQUEUE";

    private static readonly object Gate = new();
    private static bool _tried;
    private static string? _problem;
    private static delegate* unmanaged<int> _kqueue;
    private static delegate* unmanaged<int, KEvent*, int, KEvent*, int, TimeSpec*, int> _kevent;

    /// <summary>Whether $LIBKQUEUE names a library with kqueue and kevent (loads it the first time).</summary>
    public static bool IsLoaded
    {
        get
        {
            EnsureLoaded();
            return _kevent != null;
        }
    }

    /// <summary>Why it is not loaded, for a one-line message; null when it is, or when $LIBKQUEUE is unset.</summary>
    public static string? Problem
    {
        get
        {
            EnsureLoaded();
            return _problem;
        }
    }

    /// <summary>A kqueue, or -errno.</summary>
    public static int Kqueue()
    {
        if (!IsLoaded)
            return -Errno.ENOSYS;
        // libkqueue's descriptor is one end of a pipe it made with O_CLOEXEC: no fcntl needed.
        int kq = _kqueue();
        return kq < 0 ? -Marshal.GetLastSystemError() : kq;
    }

    /// <summary>kevent(2) as libkqueue implements it: the count, or -errno.</summary>
    public static int Kevent(int kq, KEvent* changes, int changeCount, KEvent* events, int eventCapacity, TimeSpec* timeout)
    {
        if (_kevent == null)
            return -Errno.ENOSYS;
        // Read right after the call, as LibraryImport's SetLastError does.
        int n = _kevent(kq, changes, changeCount, events, eventCapacity, timeout);
        return n < 0 ? -Marshal.GetLastSystemError() : n;
    }

    private static void EnsureLoaded()
    {
        if (Volatile.Read(ref _tried))
            return;
        lock (Gate)
        {
            if (_tried)
                return;
            Load(Environment.GetEnvironmentVariable(Variable));
            Volatile.Write(ref _tried, true);
        }
    }

    private static void Load(string? path)
    {
        if (string.IsNullOrEmpty(path))
            return;
        if (!NativeLibrary.TryLoad(path, out IntPtr library))
        {
            _problem = Variable + "=" + path + " cannot be loaded";
            return;
        }
        if (!NativeLibrary.TryGetExport(library, "kqueue", out IntPtr kqueue) || !NativeLibrary.TryGetExport(library, "kevent", out IntPtr kevent))
        {
            _problem = Variable + "=" + path + " has no kqueue and kevent";
            return;
        }
        _kqueue = (delegate* unmanaged<int>)kqueue;
        _kevent = (delegate* unmanaged<int, KEvent*, int, KEvent*, int, TimeSpec*, int>)kevent;
    }
}
