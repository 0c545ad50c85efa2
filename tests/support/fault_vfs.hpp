#pragma once

// A fault-injecting SQLite VFS for tests: it wraps the default VFS, counts
// every read, write, sync and truncate on every file it opens (the database,
// its WAL, a journal), and fails a chosen one of them.
//
// ```
// factum_test::fault_vfs vfs;
// factum_test::fault_vfs::as_default use{vfs};  // sqlite_store::open now uses it
// vfs.count();                                  // learn the workload's calls
// run_workload();
// const auto writes = vfs.calls(io_op::write);
// for (std::uint64_t at = 1; at <= writes; ++at) {
//   vfs.arm({io_op::write, at, fault_kind::io_error});
//   run_workload();                             // its at-th write fails
//   vfs.disarm();
//   check_the_file();
// }
// ```
#include <array>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

#include <sqlite3.h>

namespace factum_test {

/// The kinds of file calls the VFS counts and can fail.
enum class io_op { read, write, sync, truncate };

/// What a failing call does.
enum class fault_kind {
  /// Returns the call's own SQLITE_IOERR_* (READ, WRITE, FSYNC, TRUNCATE).
  io_error,
  /// A write returns SQLITE_FULL (a full disk); other calls: `io_error`.
  full,
  /// A torn write: the first half of the buffer reaches the file, then
  /// SQLITE_IOERR_WRITE (xWrite has no short-write return). Other calls: `io_error`.
  short_write,
  /// A read returns the first half of the bytes, zeros after, and
  /// SQLITE_IOERR_SHORT_READ. SQLite takes that as "the file ends there",
  /// so this models a disk that lies. Other calls: `io_error`.
  short_read,
};

/// Which call fails: the `at`-th (from 1) call of `op`, or of any kind when
/// `op` is empty, counted from `arm`; `repeat` calls from there fail (0:
/// every later one, a disk that stays broken).
struct fault_point {
  std::optional<io_op> op;
  std::uint64_t at = 1;
  fault_kind kind = fault_kind::io_error;
  std::uint64_t repeat = 1;
};

class fault_vfs {
 public:
  /// Wraps the current default VFS; registers the wrapper as `name`, not as
  /// the default (see `as_default`).
  explicit fault_vfs(std::string name = "factum-fault") : name_(std::move(name)) {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_.iVersion = 1;  // xOpen .. xCurrentTime; newer slots forwarded below are optional
    vfs_.szOsFile = static_cast<int>(sizeof(wrapped_file)) + real_->szOsFile;
    vfs_.mxPathname = real_->mxPathname;
    vfs_.zName = name_.c_str();
    vfs_.pAppData = this;
    vfs_.xOpen = &x_open;
    vfs_.xDelete = [](sqlite3_vfs* v, const char* n, int sync) {
      return self(v)->real_->xDelete(self(v)->real_, n, sync);
    };
    vfs_.xAccess = [](sqlite3_vfs* v, const char* n, int flags, int* out) {
      return self(v)->real_->xAccess(self(v)->real_, n, flags, out);
    };
    vfs_.xFullPathname = [](sqlite3_vfs* v, const char* n, int size, char* out) {
      return self(v)->real_->xFullPathname(self(v)->real_, n, size, out);
    };
    vfs_.xDlOpen = [](sqlite3_vfs* v, const char* n) {
      return self(v)->real_->xDlOpen(self(v)->real_, n);
    };
    vfs_.xDlError = [](sqlite3_vfs* v, int n, char* out) {
      self(v)->real_->xDlError(self(v)->real_, n, out);
    };
    vfs_.xDlSym = [](sqlite3_vfs* v, void* h, const char* s) {
      return self(v)->real_->xDlSym(self(v)->real_, h, s);
    };
    vfs_.xDlClose = [](sqlite3_vfs* v, void* h) { self(v)->real_->xDlClose(self(v)->real_, h); };
    vfs_.xRandomness = [](sqlite3_vfs* v, int n, char* out) {
      return self(v)->real_->xRandomness(self(v)->real_, n, out);
    };
    vfs_.xSleep = [](sqlite3_vfs* v, int us) { return self(v)->real_->xSleep(self(v)->real_, us); };
    vfs_.xCurrentTime = [](sqlite3_vfs* v, double* t) {
      return self(v)->real_->xCurrentTime(self(v)->real_, t);
    };
    vfs_.xGetLastError = [](sqlite3_vfs* v, int n, char* out) {
      return self(v)->real_->xGetLastError(self(v)->real_, n, out);
    };
    if (real_->iVersion >= 2 && real_->xCurrentTimeInt64) {
      vfs_.iVersion = 2;
      vfs_.xCurrentTimeInt64 = [](sqlite3_vfs* v, sqlite3_int64* t) {
        return self(v)->real_->xCurrentTimeInt64(self(v)->real_, t);
      };
    }
    sqlite3_vfs_register(&vfs_, 0);
  }
  ~fault_vfs() { sqlite3_vfs_unregister(&vfs_); }
  fault_vfs(const fault_vfs&) = delete;
  fault_vfs& operator=(const fault_vfs&) = delete;

  /// Makes the wrapper SQLite's default VFS while it lives (so code that
  /// opens with the default, as `sqlite_store` does, goes through it), then
  /// restores the previous default. Every file opened through it must be
  /// closed before it ends.
  class as_default {
   public:
    explicit as_default(fault_vfs& v) : vfs_(v), previous_(sqlite3_vfs_find(nullptr)) {
      sqlite3_vfs_register(&vfs_.vfs_, 1);
    }
    ~as_default() {
      sqlite3_vfs_register(previous_, 1);
      sqlite3_vfs_register(&vfs_.vfs_, 0);  // still findable by name
    }
    as_default(const as_default&) = delete;
    as_default& operator=(const as_default&) = delete;

   private:
    fault_vfs& vfs_;
    sqlite3_vfs* previous_;
  };

  [[nodiscard]] const char* name() const noexcept { return vfs_.zName; }

  /// When true, a sync that does not fail returns SQLITE_OK without reaching
  /// the disk: it is still counted and can still fail, but a test that
  /// never loses power does not wait for the disk (most of a sweep's time).
  void skip_real_syncs(bool skip) {
    std::lock_guard lock(mutex_);
    skip_syncs_ = skip;
  }

  /// Counts from zero again, failing nothing.
  void count() {
    std::lock_guard lock(mutex_);
    armed_.reset();
    calls_ = {};
    injected_ = 0;
  }
  /// Counts from zero again and fails the calls `p` names.
  void arm(const fault_point& p) {
    std::lock_guard lock(mutex_);
    armed_ = p;
    calls_ = {};
    injected_ = 0;
  }
  /// Fails nothing more; the counts go on.
  void disarm() {
    std::lock_guard lock(mutex_);
    armed_.reset();
  }

  /// Calls of `op` since `count` or `arm`.
  [[nodiscard]] std::uint64_t calls(io_op op) const {
    std::lock_guard lock(mutex_);
    return calls_[static_cast<std::size_t>(op)];
  }
  /// Calls of every kind since `count` or `arm`.
  [[nodiscard]] std::uint64_t calls() const {
    std::lock_guard lock(mutex_);
    std::uint64_t n = 0;
    for (auto c : calls_)
      n += c;
    return n;
  }
  /// How many calls failed since `arm`.
  [[nodiscard]] std::uint64_t injected() const {
    std::lock_guard lock(mutex_);
    return injected_;
  }

 private:
  struct wrapped_file {
    sqlite3_file base;
    fault_vfs* owner;
    // the real VFS's file follows
    sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
  };
  static_assert(sizeof(wrapped_file) % 8 == 0, "the real file after it must stay aligned");

  static fault_vfs* self(sqlite3_vfs* v) { return static_cast<fault_vfs*>(v->pAppData); }
  static wrapped_file* wrap(sqlite3_file* f) { return reinterpret_cast<wrapped_file*>(f); }
  static sqlite3_file* real(sqlite3_file* f) { return wrap(f)->real(); }

  /// Counts a call of `op` and says whether it fails, and how.
  std::optional<fault_kind> next(io_op op) {
    std::lock_guard lock(mutex_);
    const std::uint64_t own = ++calls_[static_cast<std::size_t>(op)];
    if (!armed_) return std::nullopt;
    std::uint64_t n = own;
    if (!armed_->op) {
      n = 0;
      for (auto c : calls_)
        n += c;
    } else if (*armed_->op != op) {
      return std::nullopt;
    }
    if (n < armed_->at || (armed_->repeat != 0 && n >= armed_->at + armed_->repeat))
      return std::nullopt;
    ++injected_;
    return armed_->kind;
  }

  bool skipping_syncs() const {
    std::lock_guard lock(mutex_);
    return skip_syncs_;
  }

  static int x_open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out_flags) {
    fault_vfs* me = self(v);
    wrapped_file* w = wrap(f);
    w->base.pMethods = nullptr;
    w->owner = me;
    const int rc = me->real_->xOpen(me->real_, name, w->real(), flags, out_flags);
    if (w->real()->pMethods) {
      me->methods_for(w->real()->pMethods);
      w->base.pMethods = &me->methods_;
    }
    return rc;
  }

  /// The wrapper's methods, the same for every file: each forwards to the
  /// file's own real methods.
  void methods_for(const sqlite3_io_methods* real_methods) {
    std::lock_guard lock(mutex_);
    if (methods_.xClose) return;
    sqlite3_io_methods& m = methods_;
    m.iVersion = real_methods->iVersion;
    m.xClose = [](sqlite3_file* f) {
      sqlite3_file* r = real(f);
      return r->pMethods->xClose(r);
    };
    m.xRead = [](sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
      sqlite3_file* r = real(f);
      const auto fault = wrap(f)->owner->next(io_op::read);
      if (!fault) return r->pMethods->xRead(r, buf, amt, off);
      if (*fault != fault_kind::short_read) return SQLITE_IOERR_READ;
      const int half = amt / 2;
      const int rc = r->pMethods->xRead(r, buf, half, off);
      if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) return rc;
      std::memset(static_cast<char*>(buf) + half, 0, static_cast<std::size_t>(amt - half));
      return SQLITE_IOERR_SHORT_READ;
    };
    m.xWrite = [](sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
      sqlite3_file* r = real(f);
      const auto fault = wrap(f)->owner->next(io_op::write);
      if (!fault) return r->pMethods->xWrite(r, buf, amt, off);
      if (*fault == fault_kind::full) return SQLITE_FULL;
      if (*fault == fault_kind::short_write)
        (void)r->pMethods->xWrite(r, buf, amt / 2, off);  // torn: a prefix, then the error
      return SQLITE_IOERR_WRITE;
    };
    m.xTruncate = [](sqlite3_file* f, sqlite3_int64 size) {
      sqlite3_file* r = real(f);
      if (wrap(f)->owner->next(io_op::truncate)) return SQLITE_IOERR_TRUNCATE;
      return r->pMethods->xTruncate(r, size);
    };
    m.xSync = [](sqlite3_file* f, int flags) {
      sqlite3_file* r = real(f);
      fault_vfs* me = wrap(f)->owner;
      if (me->next(io_op::sync)) return SQLITE_IOERR_FSYNC;
      if (me->skipping_syncs()) return SQLITE_OK;
      return r->pMethods->xSync(r, flags);
    };
    m.xFileSize = [](sqlite3_file* f, sqlite3_int64* size) {
      sqlite3_file* r = real(f);
      return r->pMethods->xFileSize(r, size);
    };
    m.xLock = [](sqlite3_file* f, int lock) {
      sqlite3_file* r = real(f);
      return r->pMethods->xLock(r, lock);
    };
    m.xUnlock = [](sqlite3_file* f, int lock) {
      sqlite3_file* r = real(f);
      return r->pMethods->xUnlock(r, lock);
    };
    m.xCheckReservedLock = [](sqlite3_file* f, int* out) {
      sqlite3_file* r = real(f);
      return r->pMethods->xCheckReservedLock(r, out);
    };
    m.xFileControl = [](sqlite3_file* f, int op, void* arg) {
      sqlite3_file* r = real(f);
      return r->pMethods->xFileControl(r, op, arg);
    };
    m.xSectorSize = [](sqlite3_file* f) {
      sqlite3_file* r = real(f);
      return r->pMethods->xSectorSize(r);
    };
    m.xDeviceCharacteristics = [](sqlite3_file* f) {
      sqlite3_file* r = real(f);
      return r->pMethods->xDeviceCharacteristics(r);
    };
    if (m.iVersion >= 2) {
      m.xShmMap = [](sqlite3_file* f, int page, int size, int extend, void volatile** out) {
        sqlite3_file* r = real(f);
        return r->pMethods->xShmMap(r, page, size, extend, out);
      };
      m.xShmLock = [](sqlite3_file* f, int offset, int n, int flags) {
        sqlite3_file* r = real(f);
        return r->pMethods->xShmLock(r, offset, n, flags);
      };
      m.xShmBarrier = [](sqlite3_file* f) {
        sqlite3_file* r = real(f);
        r->pMethods->xShmBarrier(r);
      };
      m.xShmUnmap = [](sqlite3_file* f, int del) {
        sqlite3_file* r = real(f);
        return r->pMethods->xShmUnmap(r, del);
      };
    }
    if (m.iVersion >= 3) {
      // No memory-mapped pages, so every read goes through xRead and is counted.
      m.xFetch = [](sqlite3_file*, sqlite3_int64, int, void** out) {
        *out = nullptr;
        return SQLITE_OK;
      };
      m.xUnfetch = [](sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; };
    }
  }

  std::string name_;
  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs vfs_{};
  sqlite3_io_methods methods_{};

  mutable std::mutex mutex_;
  std::optional<fault_point> armed_;
  std::array<std::uint64_t, 4> calls_{};
  std::uint64_t injected_ = 0;
  bool skip_syncs_ = false;
};

}  // namespace factum_test
