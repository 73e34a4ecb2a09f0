using System;

namespace TcpProxy.Logging;

/// <summary>
/// With several reactors (--reactors N) every loop logs through the same
/// writer, but only the loop it is attached to may touch its reactor: a line
/// from another loop is queued, and that loop is asked once (<see cref="Post"/>)
/// to flush it with the rest. Runs under the writer's lock.
/// </summary>
internal sealed class CrossThreadHandOff
{
    private readonly LogQueue _queue;
    private bool _posted;

    public CrossThreadHandOff(LogQueue queue) => _queue = queue;

    /// <summary>Asks the attached loop, from another thread, to flush (its mailbox); null while one loop is all there is.</summary>
    public Action? Post { get; set; }

    /// <summary>Queues a line from another loop's thread (or drops and counts it), then asks the attached loop, unless it was asked already.</summary>
    public void Queue(LogPriority priority, bool record, ReadOnlySpan<char> prefix, ReadOnlySpan<char> line)
    {
        if (!_queue.TryAppend(priority, record, prefix, line))
        {
            _queue.CountDropped(1);
            return;
        }
        if (_posted || Post is not Action post)
            return;
        _posted = true;
        post();
    }

    /// <summary>On the attached loop, the request arrived: the next line from elsewhere asks again.</summary>
    public void Arrived() => _posted = false;
}
