package ai.adarts;

/** The library as a whole: versions and build information. */
public final class Adarts {
  private Adarts() {}

  /** The ABI major version this binding was generated against (ADARTS_VERSION_MAJOR). */
  public static final int ABI_MAJOR = AdartsNativeConstants.ADARTS_VERSION_MAJOR;

  /** {major, minor, patch} of the loaded native library. */
  public static int[] version() {
    int[] major = {0}, minor = {0}, patch = {0};
    AdartsNative.adarts_version(major, minor, patch);
    return new int[] {major[0], minor[0], patch[0]};
  }

  /** "MAJOR.MINOR.PATCH" of the loaded native library. */
  public static String versionString() {
    return AdartsNative.adarts_version_string();
  }

  /** JSON: {"version","abi_major","torch_version","cuda_available","cuda_devices","threads"}. */
  public static String buildInfo() {
    String[] out = new String[1];
    AdartsNative.adarts_build_info(out);
    return out[0];
  }
}
