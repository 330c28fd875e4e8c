/* A slow disk for benchmarks (bench/_support.py: slow_disk_env): every fsync() and fdatasync()
 * of the process first sleeps FSYNC_DELAY_US microseconds (default 20000), as on a busy hard
 * disk or a loaded virtual machine. Loaded with LD_PRELOAD; Linux only. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <unistd.h>
#include <stdlib.h>
static int delay_us(void){ const char* s=getenv("FSYNC_DELAY_US"); return s?atoi(s):20000; }
int fsync(int fd){ static int (*real)(int)=0; if(!real) real=dlsym(RTLD_NEXT,"fsync"); usleep(delay_us()); return real(fd);}
int fdatasync(int fd){ static int (*real)(int)=0; if(!real) real=dlsym(RTLD_NEXT,"fdatasync"); usleep(delay_us()); return real(fd);}
