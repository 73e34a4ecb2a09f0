using System;
using System.Collections.Generic;
using TcpProxy.Interop;

namespace TcpProxy.Logging;

/// <summary>
/// Descriptors a log writer has let go of (SIGHUP reopened its file, the
/// writer was disposed) while its flushing thread may be in write(2) with one
/// of them. Only that thread closes them, between two writes: a number closed
/// under a write could be reused by a socket, which the late write would then
/// hit. Every one is kept, however many reopens come while a write is stuck,
/// so none stays open (each holds a rotated file's disk space). Taken under the
/// writer's lock, closed outside it: a close on a slow mount may wait too.
/// </summary>
internal sealed class RetiredDescriptors
{
    private readonly List<int> _fds = new();

    public void Add(int fd) => _fds.Add(fd);

    /// <summary>Hands over every retired descriptor, for <see cref="CloseAll"/>; empty (allocating nothing) when there is none.</summary>
    public int[] TakeAll()
    {
        if (_fds.Count == 0)
            return Array.Empty<int>();
        int[] taken = _fds.ToArray();
        _fds.Clear();
        return taken;
    }

    public static void CloseAll(int[] fds)
    {
        // An error from close(2) leaves nothing to do: Linux and macOS release the number whatever it reports.
        foreach (int fd in fds)
            Sys.Close(fd);
    }
}
