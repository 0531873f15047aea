package ai.adarts;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.function.LongConsumer;

/**
 * Owns one C handle: {@link #close()} frees it once (idempotent), and a
 * Cleaner frees it if the object becomes unreachable unclosed. Using the
 * object after close throws IllegalStateException.
 */
abstract class NativeResource implements AutoCloseable {
  private static final Cleaner CLEANER = Cleaner.create();

  /** The cleaning action; must not refer to the resource object. */
  private static final class Handle implements Runnable {
    volatile long pointer;
    private final LongConsumer free;

    Handle(long pointer, LongConsumer free) {
      this.pointer = pointer;
      this.free = free;
    }

    @Override
    public void run() {
      long p = pointer;
      pointer = 0;
      if (p != 0) free.accept(p);
    }
  }

  interface Call<T> {
    T apply(long handle);
  }

  interface VoidCall {
    void apply(long handle);
  }

  private final Handle handle;
  private final Cleaner.Cleanable cleanable;

  NativeResource(long pointer, LongConsumer free) {
    if (pointer == 0) throw new IllegalArgumentException("null handle");
    this.handle = new Handle(pointer, free);
    this.cleanable = CLEANER.register(this, handle);
  }

  /** The live handle; throws IllegalStateException after close(). */
  final long handle() {
    long p = handle.pointer;
    if (p == 0) throw new IllegalStateException(getClass().getSimpleName() + " is closed");
    return p;
  }

  /** Runs a native call on the handle, keeping this object reachable until it returns. */
  final <T> T call(Call<T> f) {
    try {
      return f.apply(handle());
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  final void run(VoidCall f) {
    try {
      f.apply(handle());
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** The handle of an optional argument (0 for null). */
  static long handleOf(NativeResource r) {
    return r == null ? 0 : r.handle();
  }

  public final boolean isClosed() {
    return handle.pointer == 0;
  }

  /** Frees the native object; later calls do nothing. */
  @Override
  public synchronized void close() {
    cleanable.clean();
  }
}
