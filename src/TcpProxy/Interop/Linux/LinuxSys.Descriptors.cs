using System.Runtime.InteropServices;
using static Tmds.Linux.LibC;

namespace TcpProxy.Interop.Linux;

internal static unsafe partial class LinuxSys
{
    /// <summary>
    /// The descriptors open in this process, from /proc/self/fd read with
    /// getdents64 (its own descriptor not counted): no entry is stat'ed, so
    /// a file on a hung mount cannot block it. -errno on failure.
    /// </summary>
    public static int CountOpenDescriptors()
    {
        int dir;
        fixed (byte* path = "/proc/self/fd\0"u8)
            dir = Result(open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0));
        if (dir < 0)
            return dir;
        const int Size = 8192;
        byte* buffer = stackalloc byte[Size];
        int count = 0;
        while (true)
        {
            nint n = LinuxLibC.GetDents64(dir, buffer, Size);
            if (n == 0)
                break;
            if (n < 0)
            {
                int error = Marshal.GetLastPInvokeError();
                if (error == Errno.EINTR)
                    continue;
                close(dir);
                return -error;
            }
            for (nint at = 0; at < n; at += *(ushort*)(buffer + at + 16))
            {
                byte* name = buffer + at + 19;
                bool dot = name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0));
                if (!dot)
                    count++;
            }
        }
        close(dir);
        return count - 1;
    }
}
