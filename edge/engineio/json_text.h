// Small text helpers shared by the Engine.IO and Socket.IO codecs: JSON string literals, UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace herald::eio {

// Appends `text` as a JSON string literal the way JSON.stringify writes it: '"', '\\' and control
// characters escaped (\b \f \n \r \t, others \u00xx in lowercase hex), everything else verbatim.
// Invalid UTF-8 bytes become U+FFFD, so the result is always valid UTF-8 for a text frame.
void append_json_string(std::string_view text, std::string& out);

// Exact number of bytes append_json_string writes for `text`.
std::size_t json_string_size(std::string_view text);

// RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text);

}  // namespace herald::eio
