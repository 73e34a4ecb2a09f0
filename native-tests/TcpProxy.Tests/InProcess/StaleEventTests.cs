using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Reactor;
using TcpProxy.Tests.Support;

namespace TcpProxy.Tests.InProcess;

[Collection(NonParallelCollection.Name)]
public sealed class StaleEventTests
{
    /// <summary>
    /// Two fds are ready in one batch. Whichever handler runs first closes the
    /// other fd and opens a new one, which the kernel gives the same number.
    /// The old fd's event, still in the batch, must not reach the new owner.
    /// </summary>
    [Theory]
    [InlineData(PollerKind.Auto)] // the OS's own: epoll on Linux, kqueue on macOS
    [InlineData(PollerKind.Poll)]
    public void EventOfAClosedFd_IsDroppedWhenItsNumberIsReusedInTheSameBatch(PollerKind kind)
    {
        int reusedRounds = 0;
        for (int round = 0; round < 20; round++)
        {
            IPoller poller = PollerFactory.Create(kind, out string? error) ?? throw new System.InvalidOperationException(error);
            using var reactor = new Reactor.Reactor(poller);
            int first = Sys.OpenWakeup();
            int second = Sys.OpenWakeup();
            Assert.True(first >= 0 && second >= 0);
            Assert.Equal(0, reactor.Add(first, IoEvents.None));
            Assert.Equal(0, reactor.Add(second, IoEvents.None));
            int newOwnerCalls = 0;
            int replaced = -1;
            int survivor = -1;
            bool reused = false;
            var fds = new[] { first, second };
            for (int i = 0; i < 2; i++)
            {
                int self = fds[i];
                int other = fds[1 - i];
                reactor.SetCallback(self, IoEvents.Readable, () =>
                {
                    Sys.DrainWakeup(self);
                    reactor.ClearReady(self, IoEvents.Readable);
                    if (replaced >= 0)
                        return;
                    survivor = self;
                    reactor.Remove(other);
                    Sys.Close(other);
                    replaced = Sys.OpenWakeup(); // not readable: any call to its callback comes from a stale event
                    reused = replaced == other;
                    Assert.Equal(0, reactor.Add(replaced, IoEvents.None));
                    reactor.SetCallback(replaced, IoEvents.Readable, () => newOwnerCalls++);
                });
            }
            Sys.Wake(first);
            Sys.Wake(second);
            Assert.Equal(0, reactor.RunOnce(1000));
            Assert.True(replaced >= 0, "no handler ran");
            Assert.Equal(0, newOwnerCalls);
            if (reused)
                reusedRounds++;
            Sys.Close(replaced);
            Sys.Close(survivor);
        }
        // The scenario is only exercised when the number really was reused.
        Assert.True(reusedRounds > 0, "the kernel never reused the closed fd number");
    }
}
