/* Preloaded (LD_PRELOAD) in front of libadarts: adarts_version() reports the
 * next ABI major, as a library of another major would. Each binding must then
 * refuse to load with a message naming both versions. */
#include <adarts/adarts.h>

void adarts_version(int* major, int* minor, int* patch) {
  if (major) *major = ADARTS_VERSION_MAJOR + 1;
  if (minor) *minor = 0;
  if (patch) *patch = 0;
}
