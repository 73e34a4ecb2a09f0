using TcpProxy.Logging;

namespace TcpProxy.Tests.Unit;

public sealed class CrossThreadHandOffTests
{
    [Fact]
    public void LinesFromOtherLoops_AskTheAttachedLoopOnce_UntilTheRequestArrives()
    {
        var queue = new LogQueue(1024, "{0} lost", LineStamp.None);
        var handOff = new CrossThreadHandOff(queue);
        int posts = 0;
        handOff.Post = () => posts++;

        handOff.Queue(LogPriority.Info, false, "a: ", "one");
        handOff.Queue(LogPriority.Info, false, "a: ", "two");
        Assert.Equal(1, posts);
        handOff.Arrived();
        handOff.Queue(LogPriority.Info, false, "a: ", "three");
        Assert.Equal(2, posts);
        Assert.Equal(3, queue.QueuedLines);
    }

    [Fact]
    public void ALineThatDoesNotFit_IsDroppedAndCounted_WithoutAskingTheLoop()
    {
        var queue = new LogQueue(8, "{0} lost", LineStamp.None);
        var handOff = new CrossThreadHandOff(queue);
        int posts = 0;
        handOff.Post = () => posts++;

        handOff.Queue(LogPriority.Info, false, default, "far too long for eight bytes");
        Assert.Equal(0, posts);
        Assert.Equal(1, queue.DroppedLines);
        Assert.True(queue.IsEmpty);
    }

    [Fact]
    public void WithOneLoop_NothingIsPosted_TheLineIsQueued()
    {
        var queue = new LogQueue(64, "{0} lost", LineStamp.None);
        new CrossThreadHandOff(queue).Queue(LogPriority.Info, false, default, "queued");
        Assert.Equal(1, queue.QueuedLines);
    }
}
