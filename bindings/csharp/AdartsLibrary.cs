namespace Adarts {
  /// <summary>The library as a whole: versions and build information.</summary>
  public static class AdartsLibrary {
    /// <summary>The ABI major version this binding was generated against (ADARTS_VERSION_MAJOR).</summary>
    public const int AbiMajor = AdartsNative.ADARTS_VERSION_MAJOR;

    /// <summary>The version of the loaded native library.</summary>
    public static System.Version Version {
      get {
        int major, minor, patch;
        AdartsNative.adarts_version(out major, out minor, out patch);
        return new System.Version(major, minor, patch);
      }
    }

    /// <summary>"MAJOR.MINOR.PATCH" of the loaded native library.</summary>
    public static string VersionString { get { return AdartsNative.adarts_version_string(); } }

    /// <summary>JSON: {"version","abi_major","torch_version","cuda_available","cuda_devices","threads"}.</summary>
    public static string BuildInfo() {
      string json;
      AdartsNative.adarts_build_info(out json);
      return json;
    }
  }
}
