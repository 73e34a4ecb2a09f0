using System;
using System.Globalization;
using System.IO;
using TcpProxy.Logging;
using TcpProxy.Tests.InProcess;
using TcpProxy.Tests.Support;
using static Tmds.Linux.LibC;

namespace TcpProxy.Tests.Unit;

/// <summary>JOURNAL_STREAM counts only when its "DEV:INODE" is exactly fstat(2) of the descriptor.</summary>
public sealed unsafe class JournalStreamTests
{
    [LinuxFact("fstat through Tmds.LibC")]
    public void Names_TheDescriptorsOwnDeviceAndInode_AndNothingElse()
    {
        var (reader, writerFd) = LogWriterTests.Pipe();
        try
        {
            Tmds.Linux.stat status;
            Assert.Equal(0, fstat(writerFd, &status));
            ulong device = status.st_dev, inode = status.st_ino;
            string own = device.ToString(CultureInfo.InvariantCulture) + ":" + inode.ToString(CultureInfo.InvariantCulture);

            Assert.True(JournalStream.Names(own, writerFd));
            Assert.True(JournalStream.Names(own, reader)); // both ends are the one pipe
            Assert.False(JournalStream.Names(device.ToString(CultureInfo.InvariantCulture) + ":" + (inode + 1).ToString(CultureInfo.InvariantCulture), writerFd));
            Assert.False(JournalStream.Names((device + 1).ToString(CultureInfo.InvariantCulture) + ":" + inode.ToString(CultureInfo.InvariantCulture), writerFd));
            foreach (string malformed in new[] { "", ":", own + ":1", " " + own, own + " ", "-" + own, "0x1:2", inode.ToString(CultureInfo.InvariantCulture) })
                Assert.False(JournalStream.Names(malformed, writerFd), $"'{malformed}' was taken for {own}");
            Assert.False(JournalStream.Names(null, writerFd));
        }
        finally
        {
            close(reader);
            close(writerFd);
        }
    }

    [LinuxFact("fstat through Tmds.LibC")]
    public void Names_NoClosedDescriptor()
    {
        var (reader, writerFd) = LogWriterTests.Pipe();
        Tmds.Linux.stat status;
        Assert.Equal(0, fstat(writerFd, &status));
        close(reader);
        close(writerFd);
        string was = ((ulong)status.st_dev).ToString(CultureInfo.InvariantCulture) + ":" + ((ulong)status.st_ino).ToString(CultureInfo.InvariantCulture);
        Assert.False(JournalStream.Names(was, writerFd));
    }
}
