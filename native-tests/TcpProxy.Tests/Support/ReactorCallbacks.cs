using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using TcpProxy.Reactor;

namespace TcpProxy.Tests.Support;

/// <summary>
/// libasync's fdcb(fd, sel, cb) for tests: a delegate per direction, kept in
/// an <see cref="IFdHandler"/> of the test's own, so a test registers an fd
/// and sets or clears its callbacks in one line each.
/// </summary>
internal static class ReactorCallbacks
{
    private static readonly ConditionalWeakTable<Reactor.Reactor, Dictionary<int, FdCallbacks>> Tables = new();

    /// <summary>Registers fd with callbacks set later by <see cref="SetCallback"/>; 0 or -errno.</summary>
    public static int Add(this Reactor.Reactor reactor, int fd, IoEvents assumeReady, IFaultOwner? owner = null)
    {
        var callbacks = new FdCallbacks();
        Tables.GetOrCreateValue(reactor)[fd] = callbacks;
        return reactor.Add(fd, callbacks, assumeReady, owner);
    }

    /// <summary>Installs (null: removes) one direction's callback; on an fd the product registered, replaces its handler.</summary>
    public static void SetCallback(this Reactor.Reactor reactor, int fd, IoEvents direction, Action? callback)
    {
        Dictionary<int, FdCallbacks> table = Tables.GetOrCreateValue(reactor);
        if (!table.TryGetValue(fd, out FdCallbacks? callbacks))
        {
            table[fd] = callbacks = new FdCallbacks();
            reactor.ReplaceHandler(fd, callbacks);
        }
        if (direction == IoEvents.Readable)
            callbacks.Readable = callback;
        else
            callbacks.Writable = callback;
        reactor.Watch(fd, direction, callback != null);
    }

    private sealed class FdCallbacks : IFdHandler
    {
        public Action? Readable;
        public Action? Writable;

        public void OnReadable(int fd) => Readable?.Invoke();

        public void OnWritable(int fd) => Writable?.Invoke();
    }
}
