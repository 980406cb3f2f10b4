/* bcryptprimitives.dll for wine 8.0, which lacks it: Rust's std (1.78+) imports ProcessPrng from
 * it, and without it every Rust exe exits with status 53 before main. This forwards to
 * RtlGenRandom (advapi32's SystemFunction036), in chunks because its length is a ULONG.
 * Build: x86_64-w64-mingw32-gcc -shared -o bcryptprimitives.dll shim.c shim.def -ladvapi32
 * Only for running tests under wine; never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
