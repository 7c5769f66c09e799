// synack TUN link: a minimal N-API addon that opens a Linux TUN device
// (IFF_TUN | IFF_NO_PI: raw IPv4/IPv6 packets, no packet-info header) and
// hands JS batches of packets whenever libuv reports the fd readable.
//
// Why our own addon: the stack needs packet-at-a-time I/O on the fd without a
// thread pool hop per read (fs.read would go through libuv's threadpool) and
// without busy polling. uv_poll_t on the non-blocking fd gives an edge of
// "readable" on the event loop thread; we then drain the fd with read(2) until
// EAGAIN (bounded per callback so one flood cannot starve the loop).
//
// Receive buffers: packets are read straight into a large ArrayBuffer chunk
// (no extra copy); JS gets (chunk, [offset, length]*) and makes Uint8Array
// views. A new chunk is started when less than kMaxPacket bytes are left, so a
// read can never be truncated (a TUN read into a short buffer drops the tail).
//
// Offload (opt-in, `new Tun(name, { offload: true })`): IFF_VNET_HDR with a 10-byte struct virtio_net_hdr
// (TUNSETVNETHDRSZ 10: the plain header; num_buffers, the 12-byte form, only matters for mergeable receive
// buffers, which a TUN device never uses) and TUNSETOFFLOAD TUN_F_CSUM|TUN_F_TSO4|TUN_F_TSO6. Every read then
// starts with the header (JS decodes it: src/link/virtio-net.ts), and every write is preceded by one, given by
// JS (GSO super-packets for the kernel to segment) or all zeros (a plain packet), joined with writev(2).
//
// Reader thread (opt-in, `new Tun(name, { readThread: true })`): instead of libuv polling the fd on the event
// loop thread, a thread of ours polls it and reads packets into the receive chunks (the same chunks, made and
// released on the event loop thread), and hands the batches to the loop with uv_async_send. The kernel's TUN
// queue is then drained while JavaScript is busy with the previous batch (or descheduled): under a SYN flood
// the reads, a third of the stack's time, run on the other core. Bounded: at most kMaxPendingBatches batches
// wait for JavaScript; beyond that the thread stops reading and the kernel's queue drops, as without it.
// Writes stay on the loop thread (read(2) and write(2) on one TUN fd may run concurrently).
//
// Writer thread (opt-in, `new Tun(name, { writeThread: true })`): every write call copies its packets into a
// ring of slots that a thread of ours writes to the fd, published once per call (a receive batch's output is
// one writeBatch). A TUN write runs the kernel's receive path for the packet (its TCP, waking the reader), which
// is most of a request/response server's system time: it then runs on the other core while JavaScript goes on.
// Order is kept (one ring, one thread). The ring is single-producer single-consumer: no lock, slots keep their
// memory (no allocation per packet), and the thread is woken (a futex) only when it went to sleep. Bounded by
// kWriteRing (beyond, dropped and counted); a write the kernel refuses there is counted as dropped (no
// exception can reach JavaScript from the thread). A call of at most kDirectMax packets that finds the ring
// drained writes them on the loop thread instead (DirectCall): a lone ACK or SYN+ACK does not wait for a
// sleeping thread to be woken and scheduled.
//
// Transmit: write(2) straight to the fd. A TUN write normally never returns
// EAGAIN (the packet is injected into the kernel's receive path), but if it
// does (or ENOBUFS), the packet is copied to a bounded native queue that is
// flushed when the fd polls writable; past the bound packets are dropped and
// counted, as a NIC with a full transmit ring would; TCP retransmits them.

#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <deque>
#include <mutex>
#include <string>
#include <vector>
#include <atomic>
#include <condition_variable>
#include <thread>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <linux/futex.h>

namespace {

// IPv4 total length and IPv6 payload length are 16-bit; a TUN device's MTU is
// at most 65535, so no packet read from it exceeds this without offload (with
// IFF_VNET_HDR, GSO packets are bounded by gso_max_size: see kMaxReadOffload).
constexpr size_t kMaxPacket = 65536;
constexpr size_t kChunkSize = 1 << 20;           // 1 MiB receive chunk
constexpr size_t kMaxPacketsPerWakeup = 1024;     // fairness bound per poll callback
constexpr size_t kMaxQueuedWrites = 4096;         // bound of the EAGAIN queue
constexpr uint64_t kWriteRing = 4096;             // writer thread: packets staged or waiting to be written
constexpr uint32_t kDirectMax = 4;                // writer thread: a call of at most this many packets finding the ring drained writes them itself
constexpr size_t kKeepSlotBytes = 4096;           // writer thread: a slot keeps at most this much memory
constexpr size_t kMaxPendingBatches = 4;          // reader thread: batches waiting for JS (at most 2048 packets each)
constexpr size_t kMaxBatchesPerCallback = 8;      // reader thread: batches handed to JS per loop turn
// struct virtio_net_hdr without num_buffers (linux/virtio_net.h): flags, gso_type, hdr_len, gso_size,
// csum_start, csum_offset. A GSO super-packet the kernel hands us is at most its gso_max_size (65536) long,
// so with the header a read never needs more than kMaxPacket + kVnetHdrLen; kMaxReadOffload leaves slack.
constexpr int kVnetHdrLen = 10;
constexpr size_t kMaxReadOffload = kMaxPacket + 256;

// Receive chunks are V8's own memory, made as node::Buffer::New makes a Buffer's (napi_create_buffer: malloc'ed by
// Node's ArrayBuffer allocator, not zero-filled: read(2) writes every byte a packet's view covers) and freed by V8
// with their last view. Not external ArrayBuffers over a pool of our own (napi_create_external_arraybuffer, as
// before): each of those is an external node::Buffer with a finalizer, counted twice as external memory (by V8 and
// by our AdjustExternalMemory), and a download at 25 MB/s makes ~26 chunks a second. While synack received, V8 then
// ran a full mark-compact every ~130 ms (started by its incremental-marking task with the old generation far below
// its limit): 2-16 ms pauses on the loop thread, in which nothing is ACKed, and concurrent marking on its worker
// threads. Loss bench at 0.5 %, kernel->synack, three 20 MB downloads, alternated three times with the old addon:
// GC pauses over 1 ms that were mark-compacts 5-7 vs 13-15, every GC pause together 71-125 vs 119-182 ms.
// glibc serves the 1 MiB blocks from its heap once one is freed (its mmap threshold adapts): no fresh pages.
static Napi::ArrayBuffer NewChunkBuffer(Napi::Env env) {
  Napi::Buffer<uint8_t> b = Napi::Buffer<uint8_t>::New(env, kChunkSize);
  if (b.IsEmpty()) return Napi::ArrayBuffer();
  Napi::ArrayBuffer ab = b.ArrayBuffer();
  if (b.ByteOffset() != 0 || ab.ByteLength() < kChunkSize) return Napi::ArrayBuffer::New(env, kChunkSize);
  return ab;
}

// errno name as node reports it (EPERM, ENOENT, ...); libuv lacks a few a TUN fd can return.
const char* ErrnoName(int err) {
  switch (err) {
    case EBADFD: return "EBADFD";  // the device was deleted while open
    case EUNATCH: return "EUNATCH";
    default: break;
  }
  const char* name = uv_err_name(-err);
  return strncmp(name, "Unknown", 7) == 0 ? "EUNKNOWN" : name;
}

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& what) {
  const char* code = ErrnoName(err);
  std::string msg = (what.empty() ? std::string() : what + ": ") + syscall + " failed: " + code + " (" + strerror(err) + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

class Tun : public Napi::ObjectWrap<Tun> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "Tun", {
        InstanceAccessor<&Tun::GetName>("name"),
        InstanceAccessor<&Tun::GetFd>("fd"),
        InstanceAccessor<&Tun::GetStats>("stats"),
        InstanceAccessor<&Tun::GetVnetHdrLen>("vnetHdrLen"),
        InstanceAccessor<&Tun::GetReadThread>("readThread"),
        InstanceAccessor<&Tun::GetWriteThread>("writeThread"),
        InstanceAccessor<&Tun::GetTcpCsumMany>("tcpCsumMany"),
        InstanceMethod<&Tun::Start>("start"),
        InstanceMethod<&Tun::Write>("write"),
        InstanceMethod<&Tun::WriteBatch>("writeBatch"),
        InstanceMethod<&Tun::WriteParts>("writeParts"),
        InstanceMethod<&Tun::WriteMany>("writeMany"),
        InstanceMethod<&Tun::Close>("close"),
        InstanceMethod<&Tun::SetRef>("setRef"),
        InstanceMethod<&Tun::ReuseChunks>("reuseChunks"),
        InstanceMethod<&Tun::ReadNow>("readNow"),
    });
    exports.Set("Tun", ctor);
    return exports;
  }

  // new Tun(name?: string, options?: { offload?: boolean })
  explicit Tun(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tun>(info) {
    Napi::Env env = info.Env();
    std::string want;
    bool offload = false;
    if (info.Length() > 1 && info[1].IsObject()) {
      offload = info[1].As<Napi::Object>().Get("offload").ToBoolean().Value();
      read_thread_ = info[1].As<Napi::Object>().Get("readThread").ToBoolean().Value();
      write_thread_ = info[1].As<Napi::Object>().Get("writeThread").ToBoolean().Value();
    }
    if (info.Length() > 0 && !info[0].IsUndefined() && !info[0].IsNull()) {
      if (!info[0].IsString()) {
        Napi::TypeError::New(env, "TUN device name must be a string").ThrowAsJavaScriptException();
        return;
      }
      want = info[0].As<Napi::String>().Utf8Value();
      if (want.size() >= IFNAMSIZ) {
        Napi::Error e = Napi::Error::New(env, "TUN device name '" + want + "' is longer than " +
                                                  std::to_string(IFNAMSIZ - 1) + " bytes (IFNAMSIZ)");
        e.Set("code", Napi::String::New(env, "EINVAL"));
        e.ThrowAsJavaScriptException();
        return;
      }
    }
    // O_CLOEXEC: child processes (ip, ping, ...) must not inherit the fd, or
    // the device would outlive close().
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      ErrnoError(env, errno, "open", "cannot open /dev/net/tun").ThrowAsJavaScriptException();
      return;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
    if (!want.empty()) memcpy(ifr.ifr_name, want.data(), want.size());
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
      int err = errno;
      close(fd);
      ErrnoError(env, err, "ioctl(TUNSETIFF)",
                 "cannot create TUN device" + (want.empty() ? std::string() : " '" + want + "'"))
          .ThrowAsJavaScriptException();
      return;
    }
    if (offload) {
      // TUN_F_CSUM: we take packets whose checksum is left to us (VIRTIO_NET_HDR_F_NEEDS_CSUM); TSO4/TSO6
      // (which need CSUM): TCP super-packets up to 64 KiB. The kernel then enables the matching device
      // features, and its TCP sends us unsegmented, unchecksummed data.
      int hdr_len = kVnetHdrLen;
      const char* failed = nullptr;
      if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0) failed = "ioctl(TUNSETVNETHDRSZ)";
      else if (ioctl(fd, TUNSETOFFLOAD, static_cast<unsigned long>(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) < 0) failed = "ioctl(TUNSETOFFLOAD)";
      if (failed != nullptr) {
        int err = errno;
        close(fd);
        ErrnoError(env, err, failed, "cannot enable offloads on TUN device '" + std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ)) + "'")
            .ThrowAsJavaScriptException();
        return;
      }
      vnet_hdr_len_ = kVnetHdrLen;
    }
    fd_ = fd;
    name_.assign(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
    env_ = env;
    if (write_thread_) {
      wring_.resize(kWriteRing);
      // The header length is passed, not read by the thread: WriteRaw flips vnet_hdr_len_ on the loop thread.
      writer_ = std::thread(&Tun::WriterLoop, this, vnet_hdr_len_);
      napi_add_env_cleanup_hook(env, WriterCleanupHook, this);
    }
  }

  ~Tun() override {
    // Garbage collected without close(): release the fd; the poll handle (if
    // any) holds a strong reference to this object, so it is already gone.
    StopWriter();
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  Napi::Value GetName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }
  Napi::Value GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
  // 0 without offload; else the virtio_net_hdr length that precedes every packet read and written.
  Napi::Value GetVnetHdrLen(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), vnet_hdr_len_); }
  // Whether the device was opened with { readThread: true }.
  Napi::Value GetReadThread(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), read_thread_); }
  // Whether the device was opened with { writeThread: true }.
  Napi::Value GetWriteThread(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), write_thread_); }
  // writeMany takes its fourth argument (tcpCsum); an addon built before it has no such property.
  Napi::Value GetTcpCsumMany(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), true); }

  Napi::Value GetStats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("rxPackets", Napi::Number::New(env, static_cast<double>(rx_packets_.load(std::memory_order_relaxed))));
    o.Set("rxBytes", Napi::Number::New(env, static_cast<double>(rx_bytes_.load(std::memory_order_relaxed))));
    o.Set("rxBatches", Napi::Number::New(env, static_cast<double>(rx_batches_)));
    o.Set("txPackets", Napi::Number::New(env, static_cast<double>(tx_packets_.load())));
    o.Set("txBytes", Napi::Number::New(env, static_cast<double>(tx_bytes_.load())));
    size_t waiting = queue_.size();
    if (write_thread_) waiting += static_cast<size_t>(wtail_local_ - whead_.load(std::memory_order_acquire));
    o.Set("txQueued", Napi::Number::New(env, static_cast<double>(waiting)));
    o.Set("txQueuedTotal", Napi::Number::New(env, static_cast<double>(tx_queued_total_)));
    o.Set("txDropped", Napi::Number::New(env, static_cast<double>(tx_dropped_.load())));
    o.Set("txDirect", Napi::Number::New(env, static_cast<double>(tx_direct_)));
    o.Set("rxNowCalls", Napi::Number::New(env, static_cast<double>(rx_now_calls_)));
    o.Set("rxNowPackets", Napi::Number::New(env, static_cast<double>(rx_now_packets_)));
    return o;
  }

  bool CheckOpen(Napi::Env env) {
    if (fd_ >= 0) return true;
    Napi::Error e = Napi::Error::New(env, "TUN device '" + name_ + "' is closed");
    e.Set("code", Napi::String::New(env, "ERR_TUN_CLOSED"));
    e.ThrowAsJavaScriptException();
    return false;
  }

  // start(cb: (err: Error | null, chunk?: ArrayBuffer, offsets?: Uint32Array, count?: number) => void)
  // offsets holds [offset0, length0, offset1, length1, ...] into chunk.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "start(callback): callback must be a function").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
    if (poll_ != nullptr || async_ != nullptr) return env.Undefined();  // already reading: callback replaced
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, "napi_get_uv_event_loop failed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    async_context_ = new Napi::AsyncContext(env, "SynackTunRead", Value());
    if (read_thread_) return StartThread(env, loop);
    poll_ = new uv_poll_t;
    int r = uv_poll_init(loop, poll_, fd_);
    if (r != 0) {
      delete poll_;
      poll_ = nullptr;
      ErrnoError(env, -r, "uv_poll_init", "cannot poll TUN device").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    poll_->data = this;
    Ref();  // the poll handle keeps this object alive until closed
    UpdatePoll();
    if (!ref_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return env.Undefined();
  }

  // setRef(bool): whether an open, polling device keeps the event loop alive.
  // reuseChunks(on): a full receive chunk is read into again once its packets have been delivered, instead of a
  // new one being made for the next packets (at 25 MB/s a new 1 MiB ArrayBuffer ~26 times a second, which V8
  // answers with more mark-compacts: see NewChunkBuffer). Only for a receiver that keeps nothing of a chunk past
  // its callback, as attachStack's, which copies what the stack keeps; onPackets hands out views that must stay
  // valid, so it is off by default. A chunk any batch of which was delivered while it was off is never reused.
  Napi::Value ReuseChunks(const Napi::CallbackInfo& info) {
    reuse_chunks_ = info.Length() > 0 && info[0].ToBoolean().Value();
    return info.Env().Undefined();
  }

  Napi::Value SetRef(const Napi::CallbackInfo& info) {
    ref_ = info.Length() > 0 && info[0].ToBoolean().Value();
    if (async_ != nullptr) {
      if (ref_) uv_ref(reinterpret_cast<uv_handle_t*>(async_));
      else uv_unref(reinterpret_cast<uv_handle_t*>(async_));
    }
    if (poll_ != nullptr) {
      if (ref_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
      else uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    }
    return info.Env().Undefined();
  }

  void UpdatePoll() {
    if (poll_ == nullptr || fd_ < 0) return;
    int events = UV_READABLE | (queue_.empty() ? 0 : UV_WRITABLE);
    uv_poll_start(poll_, events, OnPoll);
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    Tun* self = static_cast<Tun*>(handle->data);
    Napi::HandleScope scope(self->env_);
    if (status < 0) {
      // libuv has stopped the handle (POLLERR/POLLNVAL): one error, no busy loop. Typically the device
      // was deleted (ip link del) while open.
      self->Deliver(ErrnoError(Napi::Env(self->env_), -status, "poll", "").Value());
      return;
    }
    if (events & UV_WRITABLE) self->FlushQueue();
    if (self->fd_ >= 0 && (events & UV_READABLE)) self->ReadAll();
  }

  void NewChunk() {
    if (reuse_chunks_ && chunk_data_ != nullptr && !chunk_shared_) {
      chunk_used_ = 0;  // every batch of it has been delivered, and its receiver kept nothing (reuseChunks)
      return;
    }
    Napi::Env env(env_);
    Napi::ArrayBuffer ab = NewChunkBuffer(env);
    if (ab.IsEmpty()) {  // out of memory: nothing is read until the next readable event
      chunk_.Reset();
      chunk_data_ = nullptr;
      return;
    }
    chunk_ = Napi::Persistent(ab);
    chunk_data_ = static_cast<uint8_t*>(ab.Data());
    chunk_used_ = 0;
    chunk_shared_ = false;
  }

  void ReadAll() {
    // One batch never spans two chunks: deliver what we have when switching.
    std::vector<uint32_t> offsets;
    size_t total = 0;
    int err = 0;
    const size_t max_read = vnet_hdr_len_ > 0 ? kMaxReadOffload : kMaxPacket;
    while (total < kMaxPacketsPerWakeup && fd_ >= 0) {
      if (chunk_data_ == nullptr || kChunkSize - chunk_used_ < max_read) {
        if (!offsets.empty()) {
          DeliverBatch(offsets);
          offsets.clear();
          if (fd_ < 0) return;  // closed from inside the callback
        }
        NewChunk();
        if (chunk_data_ == nullptr) break;
      }
      ssize_t n = read(fd_, chunk_data_ + chunk_used_, kChunkSize - chunk_used_);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
        break;
      }
      if (n == 0) break;
      offsets.push_back(static_cast<uint32_t>(chunk_used_));
      offsets.push_back(static_cast<uint32_t>(n));
      // Keep views 8-byte aligned so DataView/typed-array reads stay cheap.
      chunk_used_ += (static_cast<size_t>(n) + 7) & ~static_cast<size_t>(7);
      rx_packets_++;
      rx_bytes_ += static_cast<uint64_t>(n) - static_cast<uint64_t>(n >= vnet_hdr_len_ ? vnet_hdr_len_ : 0);
      total++;
    }
    if (!offsets.empty()) DeliverBatch(offsets);
    if (err != 0 && fd_ >= 0) {
      // A hard error would be reported again on every loop turn: stop reading (writes still work; the
      // owner decides whether to close). One error, no busy loop.
      if (poll_ != nullptr) uv_poll_stop(poll_);
      Deliver(ErrnoError(Napi::Env(env_), err, "read", "").Value());
    }
  }

  // readNow(cb, max): reads what the device already holds, without blocking, at most `max` packets, into the
  // current receive chunk, and hands them to cb(chunk, offsets, count) before it returns the count (0: nothing
  // read, cb not called). For a receiver that, while it handles a batch, takes what arrived meanwhile before it
  // answers (attachStack: an ACK would report a hole that a queued segment fills). Polling mode only (with the
  // reader thread: 0); it never starts a new chunk (0 when the current one has no room left: the next readable
  // event reads them) and reports no read error (the next readable event does).
  Napi::Value ReadNow(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0 || read_thread_ || poll_ == nullptr || chunk_data_ == nullptr || info.Length() < 1 || !info[0].IsFunction()) {
      return Napi::Number::New(env, 0);
    }
    const size_t max = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 64;
    const size_t max_read = vnet_hdr_len_ > 0 ? kMaxReadOffload : kMaxPacket;
    rx_now_calls_++;
    now_offsets_.clear();
    while (now_offsets_.size() / 2 < max && kChunkSize - chunk_used_ >= max_read) {
      ssize_t n = read(fd_, chunk_data_ + chunk_used_, kChunkSize - chunk_used_);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      now_offsets_.push_back(static_cast<uint32_t>(chunk_used_));
      now_offsets_.push_back(static_cast<uint32_t>(n));
      chunk_used_ += (static_cast<size_t>(n) + 7) & ~static_cast<size_t>(7);
      rx_packets_++;
      rx_bytes_ += static_cast<uint64_t>(n) - static_cast<uint64_t>(n >= vnet_hdr_len_ ? vnet_hdr_len_ : 0);
    }
    const size_t count = now_offsets_.size() / 2;
    if (count == 0) return Napi::Number::New(env, 0);
    rx_now_packets_ += count;
    if (!reuse_chunks_) chunk_shared_ = true;
    // Offsets of their own (not DeliverFrom's array): the batch being handled may still read that one.
    if (now_offsets_ref_.IsEmpty() || now_offsets_cap_ < now_offsets_.size()) {
      now_offsets_cap_ = now_offsets_.size() > 2 * max ? now_offsets_.size() : 2 * max;
      now_offsets_ref_ = Napi::Persistent(Napi::Uint32Array::New(env, now_offsets_cap_));
    }
    Napi::Uint32Array arr = now_offsets_ref_.Value();
    memcpy(arr.Data(), now_offsets_.data(), now_offsets_.size() * sizeof(uint32_t));
    // A plain call: JavaScript is on the stack already (an exception propagates to the caller of readNow).
    info[0].As<Napi::Function>().Call({chunk_.Value(), arr, Napi::Number::New(env, static_cast<double>(count))});
    return Napi::Number::New(env, static_cast<double>(count));
  }

  void DeliverBatch(const std::vector<uint32_t>& offsets) {
    if (!reuse_chunks_) chunk_shared_ = true;
    DeliverFrom(chunk_.Value(), offsets);
  }

  // The offsets go in one Uint32Array kept from batch to batch (the callback reads them before it returns; a
  // batch's count says how many are its), not a new typed array and ArrayBuffer per batch: under a SYN flood a
  // batch may be a handful of packets. A larger batch than ever before gets a larger array, kept from then on.
  void DeliverFrom(Napi::ArrayBuffer chunk, const std::vector<uint32_t>& offsets) {
    Napi::Env env(env_);
    rx_batches_++;
    if (offsets_ref_.IsEmpty() || offsets_cap_ < offsets.size()) {
      size_t cap = offsets.size() > 2 * kMaxPacketsPerWakeup ? offsets.size() : 2 * kMaxPacketsPerWakeup;
      Napi::Uint32Array a = Napi::Uint32Array::New(env, cap);
      offsets_ref_ = Napi::Persistent(a);
      offsets_cap_ = cap;
    }
    Napi::Uint32Array arr = offsets_ref_.Value();
    memcpy(arr.Data(), offsets.data(), offsets.size() * sizeof(uint32_t));
    Call({env.Null(), chunk, arr, Napi::Number::New(env, static_cast<double>(offsets.size() / 2))});
  }

  // ---- Reader thread -------------------------------------------------------------------------------------
  // A receive chunk as the loop thread made it: the thread only ever touches `mem`; the ArrayBuffer (V8 frees mem
  // with it) is held until the thread has moved on to another chunk.
  struct RxChunk {
    uint8_t* mem;
    Napi::Reference<Napi::ArrayBuffer> ab;
    bool shared = false;  // a batch of it was delivered while reuseChunks was off: never read into again
  };
  // What the thread hands the loop: packets read into `chunk`, a read error, and/or "chunk is full".
  struct RxItem {
    RxChunk* chunk;
    std::vector<uint32_t> offsets;
    int err;
    bool chunk_done;
  };

  Napi::Value StartThread(Napi::Env env, uv_loop_t* loop) {
    efd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd_ < 0) {
      ErrnoError(env, errno, "eventfd", "cannot start the TUN reader thread").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    async_ = new uv_async_t;
    int r = uv_async_init(loop, async_, OnAsync);
    if (r != 0) {
      delete async_;
      async_ = nullptr;
      ::close(efd_);
      efd_ = -1;
      ErrnoError(env, -r, "uv_async_init", "cannot start the TUN reader thread").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    async_->data = this;
    Ref();  // the async handle keeps this object alive until closed
    if (!ref_) uv_unref(reinterpret_cast<uv_handle_t*>(async_));
    TopUpChunks();
    stop_ = false;
    napi_add_env_cleanup_hook(env_, CleanupHook, this);
    // The header length is passed, not read by the thread: WriteRaw flips vnet_hdr_len_ on the loop thread.
    thread_ = std::thread([this, hdr = vnet_hdr_len_] { ReaderLoop(hdr); });
    return env.Undefined();
  }

  // At most two spare chunks for the thread, made here (ArrayBuffers are made on the loop thread only).
  void TopUpChunks() {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (free_.size() >= 2) break;
      }
      Napi::Env env(env_);
      Napi::ArrayBuffer ab = NewChunkBuffer(env);
      if (ab.IsEmpty() || ab.Data() == nullptr) break;  // out of memory: the thread waits, the kernel's queue drops
      RxChunk* c = new RxChunk{static_cast<uint8_t*>(ab.Data()), Napi::Persistent(ab), false};
      {
        std::lock_guard<std::mutex> lock(mu_);
        free_.push_back(c);
      }
      cv_.notify_one();
    }
  }

  void ReaderLoop(const int hdr) {
    const size_t max_read = hdr > 0 ? kMaxReadOffload : kMaxPacket;
    RxChunk* cur = nullptr;
    size_t used = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || (pending_.size() < kMaxPendingBatches && (cur != nullptr || !free_.empty())); });
        if (stop_) break;
        if (cur == nullptr) {
          cur = free_.front();
          free_.pop_front();
          used = 0;
          thread_cur_ = cur;
        }
      }
      RxItem item{cur, {}, 0, false};
      bool more = false;  // stopped by a bound, not by an empty queue: read on without polling
      for (;;) {
        if (item.offsets.size() / 2 >= kMaxPacketsPerWakeup) { more = true; break; }
        if (kChunkSize - used < max_read) { item.chunk_done = true; more = true; break; }
        ssize_t n = read(fd_, cur->mem + used, kChunkSize - used);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno != EAGAIN && errno != EWOULDBLOCK) item.err = errno;
          break;
        }
        if (n == 0) break;
        item.offsets.push_back(static_cast<uint32_t>(used));
        item.offsets.push_back(static_cast<uint32_t>(n));
        used += (static_cast<size_t>(n) + 7) & ~static_cast<size_t>(7);
        rx_packets_.fetch_add(1, std::memory_order_relaxed);
        rx_bytes_.fetch_add(static_cast<uint64_t>(n) - static_cast<uint64_t>(n >= hdr ? hdr : 0), std::memory_order_relaxed);
      }
      const int err = item.err;
      if (!item.offsets.empty() || err != 0 || item.chunk_done) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (item.chunk_done) { cur = nullptr; thread_cur_ = nullptr; }
          // JavaScript is behind: join the batch still waiting for it (same chunk, room left) rather than
          // queue another, so a busy loop gets few large batches (one callback each), not many small ones.
          RxItem* last = pending_.empty() ? nullptr : &pending_.back();
          if (last != nullptr && last->chunk == item.chunk && !last->chunk_done && last->err == 0 &&
              last->offsets.size() + item.offsets.size() <= 2 * kMaxPacketsPerWakeup) {
            last->offsets.insert(last->offsets.end(), item.offsets.begin(), item.offsets.end());
            last->chunk_done = item.chunk_done;
            last->err = item.err;
          } else {
            pending_.push_back(std::move(item));
          }
        }
        uv_async_send(async_);
      }
      if (err != 0) break;  // one error, no busy loop (as the polling reader)
      if (more) continue;
      struct pollfd p[2] = {{fd_, POLLIN, 0}, {efd_, POLLIN, 0}};
      int r = poll(p, 2, -1);
      if (r < 0 && errno != EINTR) {
        int e = errno;
        {
          std::lock_guard<std::mutex> lock(mu_);
          pending_.push_back(RxItem{nullptr, {}, e, false});
        }
        uv_async_send(async_);
        break;
      }
      if (r > 0 && (p[1].revents & POLLIN)) {
        uint64_t x;
        ssize_t ignored = ::read(efd_, &x, sizeof x);  // a wake-up from StopThread
        (void)ignored;
      }
    }
  }

  static void OnAsync(uv_async_t* handle) {
    Tun* self = static_cast<Tun*>(handle->data);
    Napi::HandleScope scope(self->env_);
    self->DrainPending();
  }

  void DrainPending() {
    std::deque<RxItem> items;
    bool more;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < kMaxBatchesPerCallback && !pending_.empty(); i++) {
        items.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
      more = !pending_.empty();
    }
    cv_.notify_one();
    if (fd_ >= 0) TopUpChunks();
    for (RxItem& it : items) {
      if (fd_ >= 0 && !it.offsets.empty()) {
        if (!reuse_chunks_) it.chunk->shared = true;
        DeliverFrom(it.chunk->ab.Value(), it.offsets);
      }
      if (it.chunk_done) {
        // The thread is done with it and every batch of it has been delivered: back to the thread (reuseChunks),
        // or V8 owns the ArrayBuffer now.
        bool back = false;
        if (reuse_chunks_ && !it.chunk->shared && fd_ >= 0) {
          std::lock_guard<std::mutex> lock(mu_);
          if (free_.size() < 3) { free_.push_back(it.chunk); back = true; }
        }
        if (back) cv_.notify_one();
        else delete it.chunk;
      }
      if (fd_ >= 0 && it.err != 0) Deliver(ErrnoError(Napi::Env(env_), it.err, it.chunk == nullptr ? "poll" : "read", "").Value());
    }
    if (more && fd_ >= 0 && async_ != nullptr) uv_async_send(async_);
  }

  // Stops and joins the thread (loop thread only); idempotent.
  void StopThread() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    uint64_t one = 1;
    ssize_t ignored = ::write(efd_, &one, sizeof one);
    (void)ignored;
    thread_.join();
    napi_remove_env_cleanup_hook(env_, CleanupHook, this);
  }

  // The environment is going away (an unref()'d process exiting with the device open): the thread must not
  // outlive it. Nothing is released: the process is ending.
  static void CleanupHook(void* arg) {
    Tun* self = static_cast<Tun*>(arg);
    if (!self->thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->stop_ = true;
    }
    self->cv_.notify_all();
    uint64_t one = 1;
    ssize_t ignored = ::write(self->efd_, &one, sizeof one);
    (void)ignored;
    self->thread_.join();
  }

  static void OnAsyncClosed(uv_handle_t* handle) { delete reinterpret_cast<uv_async_t*>(handle); }

  // After StopThread: the handle closed, every chunk the loop thread still holds released.
  void CloseThread() {
    StopThread();
    if (async_ != nullptr) {
      uv_close(reinterpret_cast<uv_handle_t*>(async_), OnAsyncClosed);
      async_ = nullptr;
      Unref();
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (RxItem& it : pending_) if (it.chunk_done) delete it.chunk;
    pending_.clear();
    delete thread_cur_;
    thread_cur_ = nullptr;
    for (RxChunk* c : free_) delete c;
    free_.clear();
    if (efd_ >= 0) { ::close(efd_); efd_ = -1; }
  }

  void Deliver(Napi::Value err) { Call({err}); }

  void Call(const std::initializer_list<napi_value>& args) {
    if (callback_.IsEmpty() || async_context_ == nullptr) return;
    Napi::Env env(env_);
    // MakeCallback (not Call): runs with an async context and drains the
    // microtask/nextTick queues afterwards, as node's own I/O callbacks do.
    in_callback_++;
    // The C call, not node-addon-api's MakeCallback: when the poll handle fires while Node tears the environment
    // down (uv_run inside Environment::CleanupHandles, e.g. a packet arriving as an unref()'d process exits), no
    // JavaScript can run; the wrapper then turns the failed call into napi_throw, which is fatal at that point.
    // Nothing is left to deliver to, so the batch is dropped.
    napi_value result = nullptr;
    napi_status st = napi_make_callback(env_, *async_context_, Value(), callback_.Value(), args.size(), args.begin(), &result);
    in_callback_--;
    if (st != napi_ok && st != napi_pending_exception) return;
    if (env.IsExceptionPending()) {
      // Surface a throwing handler as an uncaught exception, as any other
      // I/O callback would, instead of swallowing it.
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env_, e.Value());
    }
    // close() called from inside the handler: the async context could not be
    // destroyed while in use; do it now.
    if (fd_ < 0 && in_callback_ == 0 && async_context_ != nullptr) {
      delete async_context_;
      async_context_ = nullptr;
    }
  }

  // Returns 0 on success, -1 when the packet must be queued, errno otherwise. With offload, `hdr` (or zeros
  // when null) goes first: one writev(2), one packet for the kernel.
  // `tail` (tail_len bytes, may be null) is the packet's second part: the payload after the headers in
  // `data`, gathered by the same writev(2) so JS never copies it.
  int WriteOne(const uint8_t* data, size_t len, const uint8_t* hdr = nullptr, const uint8_t* tail = nullptr,
               size_t tail_len = 0) {
    static const uint8_t kZeroHdr[kVnetHdrLen] = {0};
    for (;;) {
      ssize_t n;
      struct iovec iov[3];
      int cnt = 0;
      if (vnet_hdr_len_ > 0) {
        iov[cnt].iov_base = const_cast<uint8_t*>(hdr != nullptr ? hdr : kZeroHdr);
        iov[cnt++].iov_len = static_cast<size_t>(vnet_hdr_len_);
      }
      iov[cnt].iov_base = const_cast<uint8_t*>(data);
      iov[cnt++].iov_len = len;
      if (tail_len > 0) {
        iov[cnt].iov_base = const_cast<uint8_t*>(tail);
        iov[cnt++].iov_len = tail_len;
      }
      n = cnt == 1 ? ::write(fd_, data, len) : ::writev(fd_, iov, cnt);
      if (n >= 0) {
        tx_packets_++;
        tx_bytes_ += len + tail_len;
        return 0;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return -1;
      return errno;
    }
  }

  // Returns "sent", "queued" or "dropped"; throws on a hard error. `direct`: with the writer thread, the call
  // carries few packets (DirectCall), so each is written here while the ring is drained (see DirectCall).
  const char* WriteOrQueue(const uint8_t* data, size_t len, int* hard_err, const uint8_t* hdr = nullptr,
                           const uint8_t* tail = nullptr, size_t tail_len = 0, bool direct = false) {
    *hard_err = 0;
    if (write_thread_) {
      // The ring drained (the thread stores whead_ after each write) means everything staged before has been
      // written: this packet may go now without overtaking any. Once one is staged (the device full, an
      // error), the rest of the call follows it through the ring, which counts a hard error as a drop.
      if (direct && wtail_local_ == whead_.load(std::memory_order_acquire) && WriteOne(data, len, hdr, tail, tail_len) == 0) {
        tx_direct_++;
        return "sent";
      }
      return Stage(data, len, hdr, tail, tail_len);
    }
    if (queue_.empty()) {
      int r = WriteOne(data, len, hdr, tail, tail_len);
      if (r == 0) return "sent";
      if (r > 0) { *hard_err = r; return nullptr; }
    }
    if (queue_.size() >= kMaxQueuedWrites) {
      tx_dropped_++;
      return "dropped";
    }
    // Queued whole, its virtio_net_hdr in front (FlushQueue writes the bytes as they are): JS may reuse the
    // memory of both parts as soon as we return.
    size_t h = static_cast<size_t>(vnet_hdr_len_);
    std::vector<uint8_t> q(h + len + tail_len, 0);
    if (h > 0 && hdr != nullptr) memcpy(q.data(), hdr, h);
    memcpy(q.data() + h, data, len);
    if (tail_len > 0) memcpy(q.data() + h + len, tail, tail_len);
    queue_.push_back(std::move(q));
    tx_queued_total_++;
    UpdatePoll();
    return "queued";
  }

  // Writer thread: a packet (its virtio_net_hdr in front with offload) copied into the next free slot of the
  // ring the thread writes from; the write call publishes everything it staged at its end (HandOver), so a
  // batch costs one release store and at most one wake-up. Slots keep their memory (no allocation per packet
  // once warm); the thread frees a slot's memory when it held a large packet.
  const char* Stage(const uint8_t* data, size_t len, const uint8_t* hdr, const uint8_t* tail, size_t tail_len) {
    if (wtail_local_ - whead_.load(std::memory_order_acquire) >= kWriteRing) {
      tx_dropped_++;
      return "dropped";
    }
    WSlot& slot = wring_[wtail_local_ % kWriteRing];
    size_t h = static_cast<size_t>(vnet_hdr_len_);
    size_t total = h + len + tail_len;
    if (slot.bytes.size() < total) slot.bytes.resize(total);
    uint8_t* q = slot.bytes.data();
    if (h > 0) {
      if (hdr != nullptr) memcpy(q, hdr, h);
      else memset(q, 0, h);
    }
    memcpy(q + h, data, len);
    if (tail_len > 0) memcpy(q + h + len, tail, tail_len);
    slot.len = total;
    wtail_local_++;
    return "sent";
  }

  // Writer thread: a call of at most kDirectMax packets (a lone ACK, a SYN+ACK, a response) writes them on the
  // loop thread when the ring is drained, as without the thread, instead of staging them and waking the
  // sleeping thread, whose wake-up took 0.1-0.16 ms after idle on this VM (futex wake, then the thread's
  // scheduling) before the packet left. Larger calls (a receive batch's output under load) still go to the
  // thread, which takes the kernel's receive work for them off the loop thread.
  bool DirectCall(uint32_t count) const { return write_thread_ && count <= kDirectMax; }

  // Publishes the staged packets to the writer thread, and wakes it only when it went to sleep: a thread still
  // writing the previous batch picks them up without a system call on either side (no lock either way).
  void HandOver() {
    if (!write_thread_ || wtail_local_ == wtail_.load(std::memory_order_relaxed)) return;
    wtail_.store(wtail_local_, std::memory_order_release);
    // Dekker with WriterLoop's sleep: our tail store, then its flag; its flag store, then our tail.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (wsleep_.load(std::memory_order_relaxed) != 0) {
      wsleep_.store(0, std::memory_order_relaxed);
      FutexWake(&wsleep_);
    }
  }

  static void FutexWait(std::atomic<int>* word, int expect) {
    syscall(SYS_futex, reinterpret_cast<int*>(word), FUTEX_WAIT_PRIVATE, expect, nullptr, nullptr, 0);
  }
  static void FutexWake(std::atomic<int>* word) {
    syscall(SYS_futex, reinterpret_cast<int*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }

  // The thread: writes what is published, in order, then sleeps on the futex until HandOver wakes it. Under
  // load a wake-up serves a whole receive batch's responses (many requests), so it is not spun for: on two
  // cores a spinning thread takes the CPU the peer (or the kernel's work for it) needs.
  void WriterLoop(const int hdr_len) {
    uint64_t head = whead_.load(std::memory_order_relaxed);
    for (;;) {
      uint64_t tail = wtail_.load(std::memory_order_acquire);
      if (head != tail) {
        const bool stopping = wstop_.load(std::memory_order_relaxed);
        for (; head != tail; head++) {
          WSlot& slot = wring_[head % kWriteRing];
          WriteFromThread(slot.bytes.data(), slot.len, hdr_len, stopping);
          if (slot.bytes.size() > kKeepSlotBytes) std::vector<uint8_t>().swap(slot.bytes);
          whead_.store(head + 1, std::memory_order_release);
        }
        continue;
      }
      wsleep_.store(1, std::memory_order_seq_cst);
      // Dekker with HandOver: our flag, then its tail; and with JoinWriter: our flag, then the stop.
      if (wtail_.load(std::memory_order_seq_cst) != head) {
        wsleep_.store(0, std::memory_order_relaxed);
        continue;
      }
      if (wstop_.load(std::memory_order_seq_cst)) return;  // stopped, everything published is written
      FutexWait(&wsleep_, 1);
      wsleep_.store(0, std::memory_order_relaxed);
    }
  }

  // One packet, header included; EAGAIN/ENOBUFS waits (briefly) for the fd, as the loop thread's queue would.
  void WriteFromThread(const uint8_t* p, size_t len, int hdr_len, bool stopping) {
    for (int waits = 0;;) {
      ssize_t n = ::write(fd_, p, len);
      if (n >= 0) {
        tx_packets_++;
        tx_bytes_ += len - static_cast<size_t>(hdr_len);
        return;
      }
      if (errno == EINTR) continue;
      if ((errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) && !stopping && waits++ < 100) {
        struct pollfd pfd = {fd_, POLLOUT, 0};
        ::poll(&pfd, 1, 10);
        continue;
      }
      tx_dropped_++;
      return;
    }
  }

  // Writes what is queued, then stops the thread (before the fd is closed). Idempotent.
  void StopWriter() {
    if (!writer_.joinable()) return;
    HandOver();
    JoinWriter();
    napi_remove_env_cleanup_hook(env_, WriterCleanupHook, this);
  }

  void JoinWriter() {
    wstop_.store(true, std::memory_order_seq_cst);
    wsleep_.store(0, std::memory_order_relaxed);
    FutexWake(&wsleep_);
    writer_.join();
  }

  // The environment is going away with the device open: the thread must not outlive it.
  static void WriterCleanupHook(void* arg) {
    Tun* self = static_cast<Tun*>(arg);
    if (self->writer_.joinable()) self->JoinWriter();
  }

  void FlushQueue() {
    while (!queue_.empty() && fd_ >= 0) {
      const std::vector<uint8_t>& p = queue_.front();
      int r = WriteRaw(p.data(), p.size());
      if (r == -1) break;
      if (r > 0) tx_dropped_++;  // hard error on a queued packet: drop it, counted
      queue_.pop_front();
    }
    UpdatePoll();
  }

  // A queued packet already holds its header: plain write(2).
  int WriteRaw(const uint8_t* data, size_t len) {
    int saved = vnet_hdr_len_;
    vnet_hdr_len_ = 0;
    int r = WriteOne(data, len);
    vnet_hdr_len_ = saved;
    if (r == 0 && saved > 0) tx_bytes_ -= static_cast<uint64_t>(saved);  // count packet bytes only
    return r;
  }

  // The optional virtio_net_hdr argument of write/writeBatch: undefined/null = none (zeros), else a
  // Uint8Array of exactly vnet_hdr_len_ bytes. Returns false (with a JS exception pending) when invalid.
  bool GetHdr(Napi::Env env, Napi::Value v, const uint8_t** hdr, const std::string& what) {
    *hdr = nullptr;
    if (v.IsUndefined() || v.IsNull()) return true;
    size_t len;
    if (vnet_hdr_len_ == 0) {
      Napi::TypeError::New(env, what + ": a virtio_net_hdr needs a device opened with { offload: true }").ThrowAsJavaScriptException();
      return false;
    }
    if (!GetBytes(v, hdr, &len) || len != static_cast<size_t>(vnet_hdr_len_)) {
      Napi::TypeError::New(env, what + ": the virtio_net_hdr must be a Uint8Array of " + std::to_string(vnet_hdr_len_) + " bytes")
          .ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  static bool GetBytes(Napi::Value v, const uint8_t** data, size_t* len) {
    if (!v.IsTypedArray()) return false;
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_uint8_array) return false;
    Napi::Uint8Array u = ta.As<Napi::Uint8Array>();
    *data = u.Data();
    *len = u.ByteLength();
    return true;
  }

  // write(packet: Uint8Array, vnetHdr?: Uint8Array): 'sent' | 'queued' | 'dropped'
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    const uint8_t* data;
    size_t len;
    if (info.Length() < 1 || !GetBytes(info[0], &data, &len)) {
      Napi::TypeError::New(env, "write(packet): packet must be a Uint8Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const uint8_t* hdr = nullptr;
    if (info.Length() > 1 && !GetHdr(env, info[1], &hdr, "write(packet, vnetHdr)")) return env.Undefined();
    int err;
    const char* r = WriteOrQueue(data, len, &err, hdr, nullptr, 0, DirectCall(1));
    HandOver();
    if (r == nullptr) {
      ErrnoError(env, err, "write", "writing " + std::to_string(len) + " bytes")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::String::New(env, r);
  }

  // writeParts(headers: Uint8Array, payload: Uint8Array, vnetHdr?: Uint8Array): like write() of the two
  // parts joined, gathered by writev(2) instead of copied into one buffer first.
  Napi::Value WriteParts(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    const uint8_t* data;
    size_t len;
    const uint8_t* tail;
    size_t tail_len;
    if (info.Length() < 2 || !GetBytes(info[0], &data, &len) || !GetBytes(info[1], &tail, &tail_len)) {
      Napi::TypeError::New(env, "writeParts(headers, payload): both must be Uint8Arrays").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const uint8_t* hdr = nullptr;
    if (info.Length() > 2 && !GetHdr(env, info[2], &hdr, "writeParts(headers, payload, vnetHdr)")) return env.Undefined();
    int err;
    const char* r = WriteOrQueue(data, len, &err, hdr, tail, tail_len, DirectCall(1));
    HandOver();
    if (r == nullptr) {
      ErrnoError(env, err, "write", "writing " + std::to_string(len + tail_len) + " bytes")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::String::New(env, r);
  }

  // writeBatch(packets: Uint8Array[]): number of packets sent or queued
  // (one N-API crossing for a whole flight of segments).
  Napi::Value WriteBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsArray()) {
      Napi::TypeError::New(env, "writeBatch(packets): packets must be an array of Uint8Array")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Array arr = info[0].As<Napi::Array>();
    uint32_t n = arr.Length();
    // writeBatch(packets, vnetHdrs?): vnetHdrs[i] is packet i's header (undefined = zeros).
    Napi::Array hdrs;
    bool have_hdrs = info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull();
    if (have_hdrs) {
      if (!info[1].IsArray()) {
        Napi::TypeError::New(env, "writeBatch(packets, vnetHdrs): vnetHdrs must be an array").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      hdrs = info[1].As<Napi::Array>();
    }
    uint32_t accepted = 0;
    const bool direct = DirectCall(n);
    for (uint32_t i = 0; i < n; i++) {
      const uint8_t* data;
      size_t len;
      if (!GetBytes(arr.Get(i), &data, &len)) {
        Napi::TypeError::New(env, "writeBatch(packets): element " + std::to_string(i) + " is not a Uint8Array")
            .ThrowAsJavaScriptException();
        return env.Undefined();
      }
      const uint8_t* hdr = nullptr;
      if (have_hdrs && i < hdrs.Length() &&
          !GetHdr(env, hdrs.Get(i), &hdr, "writeBatch: header " + std::to_string(i))) {
        return env.Undefined();
      }
      int err;
      const char* r = WriteOrQueue(data, len, &err, hdr, nullptr, 0, direct);
      if (r == nullptr) {
        ErrnoError(env, err, "write", "writing packet " + std::to_string(i) + " (" + std::to_string(len) + " bytes)")
            .ThrowAsJavaScriptException();
        return env.Undefined();
      }
      if (r[0] != 'd') accepted++;
    }
    HandOver();
    return Napi::Number::New(env, accepted);
  }

  // The virtio_net_hdr of a TCP datagram whose checksum field holds the pseudo-header sum (RFC 793 §3.1, over
  // the whole TCP length): NEEDS_CSUM from the TCP header on, the result at its offset 16, the kernel completing
  // it (or never needing it for local delivery). False, with `hdr` untouched, for anything but an IPv4 or IPv6
  // (no extension header) datagram carrying a whole TCP header: that goes out behind a zero header.
  static bool TcpCsumHdr(const uint8_t* p, size_t len, uint8_t* hdr) {
    size_t start;
    if (len >= 20 && (p[0] >> 4) == 4 && p[9] == 6) start = static_cast<size_t>(p[0] & 0x0f) * 4;
    else if (len >= 40 && (p[0] >> 4) == 6 && p[6] == 6) start = 40;
    else return false;
    if (start < 20 || len < start + 20) return false;
    memset(hdr, 0, kVnetHdrLen);
    hdr[0] = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM; gso_type NONE, hdr_len and gso_size 0
    hdr[6] = static_cast<uint8_t>(start & 0xff);  // csum_start, csum_offset: host order (little-endian only)
    hdr[7] = static_cast<uint8_t>(start >> 8);
    hdr[8] = 16;
    return true;
  }

  // writeMany(buffer: Uint8Array, offsets: Uint32Array, count: number, tcpCsum?: boolean): number of packets
  // sent or queued. Packet i is buffer[offsets[2i], offsets[2i] + offsets[2i+1]): many small packets that JS
  // built into one buffer (the SYN+ACKs of a receive batch, a turn's output queue) cross into the addon once,
  // instead of once each, without an array of views to walk. They are whole packets: with offload each goes
  // out behind a zero virtio_net_hdr, or with `tcpCsum` a TCP one behind TcpCsumHdr's (its checksum field
  // already holds the pseudo-header sum). Every range is checked before anything is written, so a bad argument
  // writes nothing.
  Napi::Value WriteMany(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    const uint8_t* data;
    size_t len;
    if (info.Length() < 3 || !GetBytes(info[0], &data, &len) || !info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array || !info[2].IsNumber()) {
      Napi::TypeError::New(env, "writeMany(buffer, offsets, count): a Uint8Array, a Uint32Array and a number")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint32Array offs = info[1].As<Napi::Uint32Array>();
    double want = info[2].As<Napi::Number>().DoubleValue();
    if (!(want >= 0) || want * 2 > static_cast<double>(offs.ElementLength())) {
      Napi::TypeError::New(env, "writeMany: count exceeds the offsets given").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const uint32_t count = static_cast<uint32_t>(want);
    const uint32_t* o = offs.Data();
    for (uint32_t i = 0; i < count; i++) {
      if (o[2 * i] > len || o[2 * i + 1] > len - o[2 * i]) {
        Napi::TypeError::New(env, "writeMany: packet " + std::to_string(i) + " lies outside the buffer").ThrowAsJavaScriptException();
        return env.Undefined();
      }
    }
    const bool csum = vnet_hdr_len_ > 0 && info.Length() > 3 && info[3].ToBoolean().Value();
    uint32_t accepted = 0;
    const bool direct = DirectCall(count);
    for (uint32_t i = 0; i < count; i++) {
      int err;
      uint8_t hdr[kVnetHdrLen];
      const uint8_t* p = data + o[2 * i];
      const char* r = WriteOrQueue(p, o[2 * i + 1], &err, csum && TcpCsumHdr(p, o[2 * i + 1], hdr) ? hdr : nullptr, nullptr, 0, direct);
      if (r == nullptr) {
        ErrnoError(env, err, "write", "writing packet " + std::to_string(i) + " (" + std::to_string(o[2 * i + 1]) + " bytes)")
            .ThrowAsJavaScriptException();
        return env.Undefined();
      }
      if (r[0] != 'd') accepted++;
    }
    HandOver();
    return Napi::Number::New(env, accepted);
  }

  static void OnPollClosed(uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) return env.Undefined();  // idempotent
    CloseThread();  // before the fd is closed: the thread reads it
    StopWriter();   // likewise: the writer thread writes it
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      // The handle is freed in its close callback (libuv requires the memory
      // to stay valid until then); the fd may be closed right away after stop.
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), OnPollClosed);
      poll_ = nullptr;
      Unref();
    }
    queue_.clear();
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) < 0 && errno != EINTR) {
      ErrnoError(env, errno, "close", "").ThrowAsJavaScriptException();
    }
    callback_.Reset();
    chunk_.Reset();
    offsets_ref_.Reset();
    chunk_data_ = nullptr;
    if (in_callback_ == 0) {
      delete async_context_;
      async_context_ = nullptr;
    }
    return env.Undefined();
  }

  napi_env env_ = nullptr;
  int in_callback_ = 0;
  int fd_ = -1;
  int vnet_hdr_len_ = 0;  // kVnetHdrLen with offload, else 0
  std::string name_;
  uv_poll_t* poll_ = nullptr;
  bool ref_ = true;
  Napi::FunctionReference callback_;
  Napi::AsyncContext* async_context_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> chunk_;
  bool reuse_chunks_ = false;  // reuseChunks()
  bool chunk_shared_ = false;  // a batch of chunk_ was delivered while reuse_chunks_ was off
  uint8_t* chunk_data_ = nullptr;
  Napi::Reference<Napi::Uint32Array> offsets_ref_;  // DeliverFrom's offsets, kept from batch to batch
  size_t offsets_cap_ = 0;
  size_t chunk_used_ = 0;
  std::deque<std::vector<uint8_t>> queue_;
  std::atomic<uint64_t> rx_packets_{0}, rx_bytes_{0};  // the reader thread counts too
  uint64_t rx_batches_ = 0;
  // readNow: its offsets (a vector and a Uint32Array kept from call to call), calls and packets read.
  std::vector<uint32_t> now_offsets_;
  Napi::Reference<Napi::Uint32Array> now_offsets_ref_;
  size_t now_offsets_cap_ = 0;
  uint64_t rx_now_calls_ = 0, rx_now_packets_ = 0;
  // Reader thread (read_thread_): state shared with it under mu_.
  bool read_thread_ = false;
  uv_async_t* async_ = nullptr;
  int efd_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::deque<RxItem> pending_;
  std::deque<RxChunk*> free_;
  RxChunk* thread_cur_ = nullptr;
  // The writer thread counts too.
  std::atomic<uint64_t> tx_packets_{0}, tx_bytes_{0}, tx_dropped_{0};
  uint64_t tx_queued_total_ = 0;
  uint64_t tx_direct_ = 0;  // writer thread: packets written on the loop thread (DirectCall)
  // Writer thread (write_thread_): a single-producer single-consumer ring. The loop thread fills slots from
  // wtail_local_ and publishes them by storing wtail_; the thread writes slots up to wtail_ and frees them by
  // storing whead_. wsleep_ is the futex word the thread sleeps on (1 while it sleeps or is about to).
  struct WSlot {
    std::vector<uint8_t> bytes;
    size_t len = 0;
  };
  bool write_thread_ = false;
  std::thread writer_;
  std::vector<WSlot> wring_;
  uint64_t wtail_local_ = 0;
  std::atomic<uint64_t> wtail_{0}, whead_{0};
  std::atomic<int> wsleep_{0};
  std::atomic<bool> wstop_{false};
};

Napi::Object Init(Napi::Env env, Napi::Object exports) { return Tun::Init(env, exports); }

}  // namespace

NODE_API_MODULE(synack_tun, Init)
