// JWK Set (RFC 7517 §5) parsing into an immutable key set.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "broker/auth/key.h"
#include "common/status.h"

namespace herald::auth {

struct KeySet {
  std::vector<std::shared_ptr<const Key>> keys;
};

// Keys marked for another use ("use" other than "sig", "key_ops" without "verify") and keys of an
// unknown "kty" are skipped; a malformed key of a supported kind fails the whole set, so a broken
// file is noticed instead of silently dropping a key.
Result<std::shared_ptr<const KeySet>> parse_jwks(std::string_view json);

}  // namespace herald::auth
