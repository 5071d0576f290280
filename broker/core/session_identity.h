// SessionIdentity: a session's verified subject and claims text in one heap block. Two
// std::strings took 64 bytes in every session plus a block for the claims (and one for a subject
// over 15 characters, e.g. a UUID); this takes 16 and one block.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace herald::broker {

class SessionIdentity {
 public:
  SessionIdentity() = default;
  SessionIdentity(std::string_view user_id, std::string_view claims_json) {
    assign(user_id, claims_json);
  }

  // The arguments may view this identity's own text (a refresh keeps the subject).
  void assign(std::string_view user_id, std::string_view claims_json) {
    auto text = std::make_unique_for_overwrite<char[]>(user_id.size() + claims_json.size());
    std::memcpy(text.get(), user_id.data(), user_id.size());
    std::memcpy(text.get() + user_id.size(), claims_json.data(), claims_json.size());
    text_ = std::move(text);
    user_size_ = static_cast<uint32_t>(user_id.size());
    claims_size_ = static_cast<uint32_t>(claims_json.size());
  }

  std::string_view user_id() const { return {text_.get(), user_size_}; }  // "" when anonymous
  // The verified claims as compact JSON, "{}" when anonymous.
  std::string_view claims_json() const {
    if (text_ == nullptr) return "{}";
    return {text_.get() + user_size_, claims_size_};
  }

 private:
  std::unique_ptr<char[]> text_;  // the subject, then the claims
  uint32_t user_size_ = 0;
  uint32_t claims_size_ = 0;
};

}  // namespace herald::broker
