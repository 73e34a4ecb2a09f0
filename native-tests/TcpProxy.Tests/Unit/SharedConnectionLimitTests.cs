using System.Collections.Generic;
using System.Threading.Tasks;
using TcpProxy.Proxy;

namespace TcpProxy.Tests.Unit;

/// <summary>
/// The process-wide --max-connections count of several reactors: never more
/// places than the limit, even with loops reserving at once, and every fall
/// from full tells each other loop (which may have paused at the limit).
/// </summary>
public sealed class SharedConnectionLimitTests
{
    [Fact]
    public void Reserve_StopsAtTheLimit_AndAReleaseMakesRoom()
    {
        var limit = new SharedConnectionLimit(3) { Loops = 2 };
        Assert.True(limit.TryReserve());
        Assert.True(limit.TryReserve());
        Assert.True(limit.TryReserve());
        Assert.False(limit.TryReserve());
        Assert.False(limit.HasRoom);
        limit.Release(0);
        Assert.True(limit.HasRoom);
        Assert.True(limit.TryReserve());
        Assert.Equal(3, limit.Open);
    }

    [Fact]
    public void FallFromFull_TellsEveryOtherLoop_AndOnlyThen()
    {
        var told = new List<int>();
        var limit = new SharedConnectionLimit(2) { Loops = 3, RoomFreed = told.Add };
        limit.TryReserve();
        limit.TryReserve();
        limit.Release(1); // full -> one place: loops 0 and 2 may have paused
        Assert.Equal(new[] { 0, 2 }, told);
        told.Clear();
        limit.Release(0); // one place -> two: nobody paused since the last fall
        Assert.Empty(told);
    }

    [Fact]
    public void LoopsReservingAtOnce_NeverExceedTheLimit()
    {
        var limit = new SharedConnectionLimit(100) { Loops = 4 };
        int[] taken = new int[4];
        Parallel.For(0, 4, loop =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                if (limit.TryReserve())
                    taken[loop]++;
            }
        });
        Assert.Equal(100, taken[0] + taken[1] + taken[2] + taken[3]);
        Assert.Equal(100, limit.Open);
    }
}
