// Errors are values: every fallible function returns Result<T>. An Error carries a code, a
// message and a chain of context lines added on the way up ("in object header at 0x1a2b",
// "in /sst", "in granule.nc"), so the one line a user sees names the file, the object and the
// byte offset.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace vz {

enum class ErrorCode : std::uint8_t {
  kInvalidArgument,  // the caller (user) asked for something that makes no sense
  kNotFound,         // a file, URL, object or key does not exist
  kIo,               // the operating system or the network failed
  kCorrupt,          // the input violates its format (truncated, bad magic, bad checksum, ...)
  kUnsupported,      // valid input using a feature we do not handle
  kLimit,            // the input asks for more than Limits allows
  kPermission,       // access denied
  kIncompatible,     // inputs that cannot be combined (dtype, shape, codecs, packing, ...)
  kInternal,         // a bug in vzgen
};

const char* ErrorCodeName(ErrorCode code);

class [[nodiscard]] Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<std::string>& context() const { return context_; }

  // Adds an outer context line, e.g. "in /sst_anomaly". Returns *this for chaining.
  Error& Annotate(std::string context) & {
    context_.push_back(std::move(context));
    return *this;
  }
  Error Annotate(std::string context) && {
    context_.push_back(std::move(context));
    return std::move(*this);
  }

  // "message (in A, in B, in C)" with the innermost context first.
  std::string ToString() const;

 private:
  ErrorCode code_;
  std::string message_;
  std::vector<std::string> context_;
};

// Convenience constructors.
Error InvalidArgument(std::string message);
Error NotFound(std::string message);
Error IoError(std::string message);
Error Corrupt(std::string message);
Error Unsupported(std::string message);
Error LimitExceeded(std::string message);
Error PermissionDenied(std::string message);
Error Incompatible(std::string message);
Error Internal(std::string message);

namespace detail {

// Reading the value of a failed Result is a bug: it says so, with the error, and aborts, in
// every build type (never undefined behaviour, never an exception escaping a worker thread).
[[noreturn]] void FailedValueAccess(const Error& error);

// The context the macros add on the way up: none, or one line formatted fmt-style. The
// arguments are only evaluated on the error path.
inline Error WithContext(Error error) { return error; }
template <typename... Args>
Error WithContext(Error error, fmt::format_string<Args...> format, Args&&... args) {
  error.Annotate(fmt::format(format, std::forward<Args>(args)...));
  return error;
}

// An Error held by pointer: a Result that succeeded (nearly all of them: every field a parser
// reads is one) stays two words and costs nothing to destroy; only a failure allocates.
class ErrorBox {
 public:
  explicit ErrorBox(Error error) : error_(std::make_unique<Error>(std::move(error))) {}
  ErrorBox(const ErrorBox& other) : error_(std::make_unique<Error>(*other.error_)) {}
  ErrorBox& operator=(const ErrorBox& other) {
    if (this != &other) error_ = std::make_unique<Error>(*other.error_);
    return *this;
  }
  ErrorBox(ErrorBox&&) noexcept = default;
  ErrorBox& operator=(ErrorBox&&) noexcept = default;
  ~ErrorBox() = default;

  Error& get() { return *error_; }
  const Error& get() const { return *error_; }

 private:
  std::unique_ptr<Error> error_;
};

}  // namespace detail

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error)                        // NOLINT(google-explicit-constructor)
      : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // The value; a failed Result aborts with its error (see FailedValueAccess).
  T& value() & {
    if (!ok()) detail::FailedValueAccess(error());
    return *std::get_if<0>(&v_);
  }
  const T& value() const& {
    if (!ok()) detail::FailedValueAccess(error());
    return *std::get_if<0>(&v_);
  }
  T&& value() && {
    if (!ok()) detail::FailedValueAccess(error());
    return std::move(*std::get_if<0>(&v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; an Internal one when there is none (asking is a bug, not a crash).
  const Error& error() const& { return ok() ? NoError() : std::get_if<1>(&v_)->get(); }
  Error&& error() && {
    if (ok()) v_.template emplace<1>(NoError());
    return std::move(std::get_if<1>(&v_)->get());
  }

  // On error, adds a context line; on success does nothing.
  // Returns by value so that `r = std::move(r).Annotate(...)` is not a self-move.
  Result Annotate(std::string context) && {
    if (!ok()) std::get<1>(v_).get().Annotate(std::move(context));
    return std::move(*this);
  }

 private:
  static const Error& NoError() {
    static const Error kNone(ErrorCode::kInternal, "no error");
    return kNone;
  }
  std::variant<T, detail::ErrorBox> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  // The error; an Internal one when there is none (asking is a bug, not a crash).
  const Error& error() const& { return error_ ? error_->get() : NoError(); }
  Error&& error() && {
    if (!error_) error_.emplace(NoError());
    return std::move(error_->get());
  }
  Result Annotate(std::string context) && {
    if (error_) error_->get().Annotate(std::move(context));
    return std::move(*this);
  }

 private:
  static const Error& NoError() {
    static const Error kNone(ErrorCode::kInternal, "no error");
    return kNone;
  }
  std::optional<detail::ErrorBox> error_;
};

using Status = Result<void>;
inline Status Ok() { return Status(); }

}  // namespace vz

#define VZ_CONCAT_INNER_(a, b) a##b
#define VZ_CONCAT_(a, b) VZ_CONCAT_INNER_(a, b)

// VZ_TRY(expr) returns the error of a Result/Status expression from the enclosing function;
// VZ_TRY(expr, "in {}", path) adds a context line to it first (fmt-style, formatted only when
// there is an error).
#define VZ_TRY(expr, ...)                                                \
  do {                                                                   \
    auto&& vz_try_result_ = (expr);                                      \
    if (!vz_try_result_.ok()) {                                          \
      return ::vz::detail::WithContext(                                  \
          std::move(vz_try_result_).error() __VA_OPT__(, ) __VA_ARGS__); \
    }                                                                    \
  } while (false)

// VZ_ASSIGN_OR_RETURN(auto x, Foo()); — declares/assigns on success, returns the error otherwise;
// VZ_ASSIGN_OR_RETURN(auto x, Foo(), "in {}", path) adds a context line as VZ_TRY does.
#define VZ_ASSIGN_OR_RETURN(lhs, expr, ...) \
  VZ_ASSIGN_OR_RETURN_IMPL_(VZ_CONCAT_(vz_aor_, __LINE__), lhs, expr __VA_OPT__(, ) __VA_ARGS__)
// NOLINTBEGIN(bugprone-macro-parentheses): lhs is a declaration, it cannot be parenthesised.
#define VZ_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr, ...)                                   \
  auto tmp = (expr);                                                                     \
  if (!tmp.ok())                                                                         \
    return ::vz::detail::WithContext(std::move(tmp).error() __VA_OPT__(, ) __VA_ARGS__); \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
