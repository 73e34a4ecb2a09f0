using System;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Tests.Support;
using static Tmds.Linux.LibC;

namespace TcpProxy.Tests.InProcess;

public sealed class ExitFlushTests
{
    [LinuxFact("Linux pipes through Tmds.LibC")]
    public void APipeNobodyReads_IsGivenUpOn_AtTheDeadline_CountingWhatIsLeft()
    {
        var (reader, writerFd) = LogWriterTests.Pipe();
        var pipe = LogDestination.ForDescriptor(writerFd);
        try
        {
            byte[] filler = new byte[4096];
            while (pipe.Write(filler) > 0)
            {
            }
            var queue = new LogQueue(1024, "{0} lost", LineStamp.None);
            for (int i = 0; i < 3; i++)
                Assert.True(queue.TryAppend(LogPriority.Info, false, default, "waits for a reader"));

            var clock = System.Diagnostics.Stopwatch.StartNew();
            ExitFlush.WriteOut(queue, pipe, ExitFlush.Deadline(TimeSpan.FromMilliseconds(50)));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed.TotalMilliseconds:0} ms");
            Assert.True(queue.IsEmpty);
            Assert.Equal(3, queue.DroppedLines);
        }
        finally
        {
            Sys.Close(pipe.Fd);
            close(reader);
            close(writerFd);
        }
    }
}
