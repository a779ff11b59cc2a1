// The JWT signing key: CONTACTS_SECRET_KEY when set, else a random key generated once and kept
// in the data directory so tokens survive restarts and are shared by processes on one host.
#pragma once

#include <string>

namespace contacts::auth {

// `configured` when non-empty. Otherwise the contents of `<data_dir>/secret_key` (surrounding
// whitespace trimmed), first creating data_dir and the file (64 hex characters from 32 random
// bytes, mode 0600, published atomically) when it does not exist. Processes or threads racing
// to create it all return the one key that was published. Throws std::runtime_error (naming
// the path, never the key) on I/O errors or an empty key file.
std::string load_or_create_secret_key(const std::string& data_dir, const std::string& configured);

}  // namespace contacts::auth
