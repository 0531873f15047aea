// The four C handles as SafeHandles: released exactly once (Dispose or the
// finalizer), and never while a P/Invoke call is using them.
using System;
using System.Runtime.InteropServices;

namespace Adarts {
  internal abstract class AdartsHandle : SafeHandle {
    protected AdartsHandle() : base(IntPtr.Zero, true) {}
    protected AdartsHandle(IntPtr pointer) : base(IntPtr.Zero, false) { SetHandle(pointer); }
    public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
  }

  internal sealed class DatasetHandle : AdartsHandle {
    /// <summary>NULL, for optional arguments.</summary>
    internal static readonly DatasetHandle Null = new DatasetHandle();
    DatasetHandle() {}
    DatasetHandle(IntPtr pointer) : base(pointer) {}
    protected override bool ReleaseHandle() {
      AdartsNative.adarts_dataset_free(new DatasetHandle(handle));
      return true;
    }
  }

  internal sealed class SearchHandle : AdartsHandle {
    SearchHandle() {}
    SearchHandle(IntPtr pointer) : base(pointer) {}
    protected override bool ReleaseHandle() {
      AdartsNative.adarts_search_free(new SearchHandle(handle));
      return true;
    }
  }

  internal sealed class GenotypeHandle : AdartsHandle {
    GenotypeHandle() {}
    GenotypeHandle(IntPtr pointer) : base(pointer) {}
    protected override bool ReleaseHandle() {
      AdartsNative.adarts_genotype_free(new GenotypeHandle(handle));
      return true;
    }
  }

  internal sealed class TrainerHandle : AdartsHandle {
    TrainerHandle() {}
    TrainerHandle(IntPtr pointer) : base(pointer) {}
    protected override bool ReleaseHandle() {
      AdartsNative.adarts_trainer_free(new TrainerHandle(handle));
      return true;
    }
  }
}
