using System;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Tests.Support;
using static Tmds.Linux.LibC;

namespace TcpProxy.Tests.InProcess;

/// <summary>The queue's drop accounting and dropped-lines notice, flushed to a pipe and to /dev/full.</summary>
public sealed class LogQueueTests
{
    [LinuxFact("Linux pipes and /dev/full through Tmds.LibC")]
    public void AFullQueue_DropsTheLine_AndTheNoticeFollowsOnceAWriteEmptiesIt()
    {
        var (reader, writerFd) = LogWriterTests.Pipe();
        var pipe = LogDestination.ForDescriptor(writerFd);
        try
        {
            var queue = new LogQueue(32, "{0} lost", LineStamp.None);
            Assert.True(queue.TryAppend(LogPriority.Info, false, "x: ", "first"));
            Assert.False(queue.TryAppend(LogPriority.Info, false, "x: ", "a line longer than what is left"));
            queue.CountDropped(1);

            Assert.Equal(FlushResult.Drained, queue.Flush(pipe, reportDrops: false));
            Assert.Equal("x: first\n1 lost\n", LogWriterTests.ReadAvailable(reader));
            Assert.Equal(1, queue.DroppedLines);
        }
        finally
        {
            Sys.Close(pipe.Fd);
            close(reader);
            close(writerFd);
        }
    }

    [LinuxFact("Linux pipes and /dev/full through Tmds.LibC")]
    public void ANoticeLostToAWriteError_IsOwedAgain_AndCountsNoLineOfItsOwn()
    {
        LogDestination full = LogDestination.OpenFile("/dev/full", out int error) ?? throw new InvalidOperationException(Errno.Name(-error));
        var (reader, writerFd) = LogWriterTests.Pipe();
        var pipe = LogDestination.ForDescriptor(writerFd);
        try
        {
            var queue = new LogQueue(64, "{0} lost", LineStamp.None);
            queue.CountDropped(2);
            Assert.Equal(FlushResult.Failed, queue.Flush(full, reportDrops: true)); // the notice meets ENOSPC
            Assert.Equal(2, queue.DroppedLines);
            Assert.Equal(1, queue.WriteErrors);
            Assert.Equal(Errno.ENOSPC, queue.LastWriteError);

            Assert.Equal(FlushResult.Drained, queue.Flush(pipe, reportDrops: true));
            Assert.Equal("2 lost\n", LogWriterTests.ReadAvailable(reader));
        }
        finally
        {
            Sys.Close(full.Fd);
            Sys.Close(pipe.Fd);
            close(reader);
            close(writerFd);
        }
    }
}
