// Parser for the namespace policy section of the config, strict about keys and values.
#include "broker/policy/policy.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "broker/policy/glob.h"
#include "broker/policy/yaml_reader.h"

namespace herald::policy {

using internal::Entries;
using internal::join_path;
using internal::ParseBudget;
using internal::path_error;

namespace {

constexpr std::array<std::string_view, 6> kReservedEvents = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"};

// Everything a namespace-level parse needs to thread through.
struct NsParse {
  ParseBudget& budget;
  size_t captures = 0;
};

Result<std::vector<Template>> parse_templates(const YAML::Node& node, const std::string& path,
                                              RefSourceMask allowed, size_t captures,
                                              bool allow_empty) {
  Result<std::vector<std::string>> list = internal::read_string_list(node, path);
  if (!list.ok()) return list.status();
  if (list->empty() && !allow_empty) return path_error(path, "must not be empty");
  std::vector<Template> out;
  for (size_t i = 0; i < list->size(); ++i) {
    std::string ipath = node.IsSequence() ? path + "[" + std::to_string(i) + "]" : path;
    if ((*list)[i].empty()) return path_error(ipath, "must not be empty");
    Result<Template> t = Template::parse((*list)[i], allowed, captures);
    if (!t.ok()) return path_error(ipath, t.status().message());
    out.push_back(std::move(t).value());
  }
  return out;
}

Result<size_t> parse_size(const YAML::Node& node, const std::string& path) {
  Result<int64_t> v = internal::read_int(node, path);
  if (!v.ok()) return v.status();
  if (*v < 0) return path_error(path, "must be >= 0");
  return static_cast<size_t>(*v);
}

Result<RateSpec> parse_rate(const YAML::Node& node, const std::string& path, ParseBudget& budget) {
  Result<Entries> entries = internal::map_entries(node, path, budget);
  if (!entries.ok()) return entries.status();
  std::optional<double> per_second;
  std::optional<double> burst;
  for (const auto& [key, value] : *entries) {
    std::string kpath = join_path(path, key);
    if (key == "per_second" || key == "per_minute") {
      if (per_second) return path_error(kpath, "use either per_second or per_minute");
      Result<double> v = internal::read_number(value, kpath);
      if (!v.ok()) return v.status();
      if (*v <= 0) return path_error(kpath, "must be > 0");
      per_second = key == "per_second" ? *v : *v / 60.0;
    } else if (key == "burst") {
      Result<double> v = internal::read_number(value, kpath);
      if (!v.ok()) return v.status();
      if (*v < 1) return path_error(kpath, "must be >= 1");
      burst = *v;
    } else {
      return path_error(kpath, "unknown key");
    }
  }
  if (!per_second) return path_error(path, "missing key 'per_second' (or 'per_minute')");
  return RateSpec::make(*per_second, burst.value_or(std::max(1.0, std::ceil(*per_second))));
}

Result<ActionKind> parse_action(const YAML::Node& node, const std::string& path) {
  Result<std::string> s = internal::read_string(node, path);
  if (!s.ok()) return s.status();
  if (*s == "relay") return ActionKind::kRelay;
  if (*s == "join") return ActionKind::kJoin;
  if (*s == "leave") return ActionKind::kLeave;
  if (*s == "forward") return ActionKind::kForward;
  return path_error(path, "must be relay, join, leave or forward");
}

Result<EventPolicy> parse_event(const std::string& name, const YAML::Node& node,
                                const std::string& path, NsParse& ns) {
  EventPolicy ev;
  ev.name = name;
  Result<Entries> entries = internal::map_entries(node, path, ns.budget);
  if (!entries.ok()) return entries.status();
  bool has_action = false;
  YAML::Node schema_node;
  YAML::Node args_node;
  for (const auto& [key, value] : *entries) {
    if (key == "action") {
      Result<ActionKind> a = parse_action(value, join_path(path, key));
      if (!a.ok()) return a.status();
      ev.action = *a;
      has_action = true;
    }
  }
  if (!has_action) return path_error(path, "missing key 'action' (relay, join, leave, forward)");
  bool has_rooms = false;
  for (const auto& [key, value] : *entries) {
    std::string kpath = join_path(path, key);
    const bool relay = ev.action == ActionKind::kRelay;
    auto wrong_action = [&] {
      return path_error(kpath, "not allowed for action " + std::string(to_string(ev.action)));
    };
    if (key == "action" || key == "description") {
      if (key == "description" && !value.IsScalar()) return path_error(kpath, "must be a string");
    } else if (key == "to" || key == "room") {
      bool wanted = (key == "to") == relay && ev.action != ActionKind::kForward;
      if (!wanted) return wrong_action();
      Result<std::vector<Template>> t = parse_templates(value, kpath, kAllRefs, ns.captures, false);
      if (!t.ok()) return t.status();
      ev.rooms = std::move(t).value();
      has_rooms = true;
    } else if (key == "require_member" || key == "except_sender" || key == "volatile") {
      if (!relay) return wrong_action();
      Result<bool> b = internal::read_bool(value, kpath);
      if (!b.ok()) return b.status();
      (key == "require_member"  ? ev.require_member
       : key == "except_sender" ? ev.except_sender
                                : ev.is_volatile) = *b;
    } else if (key == "schema") {
      schema_node = value;
    } else if (key == "args") {
      args_node = value;
    } else if (key == "rate") {
      Result<RateSpec> r = parse_rate(value, kpath, ns.budget);
      if (!r.ok()) return r.status();
      ev.rate = *r;
    } else if (key == "max_payload") {
      Result<size_t> v = parse_size(value, kpath);
      if (!v.ok()) return v.status();
      ev.max_payload = *v;
    } else {
      return path_error(kpath, "unknown key");
    }
  }
  if (!has_rooms && ev.action != ActionKind::kForward) {
    return path_error(path,
                      ev.action == ActionKind::kRelay ? "missing key 'to'" : "missing key 'room'");
  }
  Result<ArgsSchema> schema = parse_args_schema(schema_node, join_path(path, "schema"), args_node,
                                                join_path(path, "args"), ns.budget);
  if (!schema.ok()) return schema.status();
  ev.schema = std::move(schema).value();
  return ev;
}

Status parse_rooms(const YAML::Node& node, const std::string& path, NamespacePolicy& out,
                   NsParse& ns) {
  Result<Entries> entries = internal::map_entries(node, path, ns.budget);
  if (!entries.ok()) return entries.status();
  for (const auto& [key, value] : *entries) {
    std::string kpath = join_path(path, key);
    if (key == "join_allowed") {
      Result<std::vector<Template>> t =
          parse_templates(value, kpath, kIdentityRefs, ns.captures, true);
      if (!t.ok()) return t.status();
      out.join_allowed = std::move(t).value();
    } else if (key == "max_per_socket") {
      Result<size_t> v = parse_size(value, kpath);
      if (!v.ok()) return v.status();
      out.max_rooms = *v;
    } else {
      return path_error(kpath, "unknown key");
    }
  }
  return Status::ok_status();
}

Status parse_require_claims(const YAML::Node& node, const std::string& path, NamespacePolicy& out,
                            NsParse& ns) {
  Result<Entries> entries = internal::map_entries(node, path, ns.budget);
  if (!entries.ok()) return entries.status();
  for (const auto& [key, value] : *entries) {
    std::string kpath = join_path(path, key);
    RequiredClaim claim;
    claim.name = key;
    size_t start = 0;
    while (true) {
      size_t dot = key.find('.', start);
      claim.path.push_back(key.substr(start, dot == std::string::npos ? dot : dot - start));
      if (claim.path.back().empty()) return path_error(kpath, "bad claim path");
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    Result<std::string> text = internal::read_string(value, kpath);
    if (!text.ok()) return text.status();
    Result<Template> t = Template::parse(*text, kIdentityRefs, ns.captures);
    if (!t.ok()) return path_error(kpath, t.status().message());
    claim.value = std::move(t).value();
    out.require_claims.push_back(std::move(claim));
  }
  return Status::ok_status();
}

Result<NamespacePolicy> parse_namespace(const std::string& name, const YAML::Node& node,
                                        const std::string& path, ParseBudget& budget) {
  NamespacePolicy out;
  out.name = name;
  out.captures = static_cast<size_t>(std::count(name.begin(), name.end(), '*'));
  out.is_pattern = out.captures > 0;
  NsParse ns{budget, out.captures};
  Result<Entries> entries = internal::map_entries(node, path, budget);
  if (!entries.ok()) return entries.status();
  for (const auto& [key, value] : *entries) {
    std::string kpath = join_path(path, key);
    if (key == "auth") {
      Result<std::string> s = internal::read_string(value, kpath);
      if (!s.ok()) return s.status();
      if (*s == "required") {
        out.auth = AuthMode::kRequired;
      } else if (*s == "optional") {
        out.auth = AuthMode::kOptional;
      } else if (*s == "none") {
        out.auth = AuthMode::kNone;
      } else {
        return path_error(kpath, "must be required, optional or none");
      }
    } else if (key == "auto_join") {
      Result<std::vector<Template>> t =
          parse_templates(value, kpath, kIdentityRefs, out.captures, true);
      if (!t.ok()) return t.status();
      out.auto_join = std::move(t).value();
    } else if (key == "rooms") {
      Status st = parse_rooms(value, kpath, out, ns);
      if (!st.ok()) return st;
    } else if (key == "require_claims") {
      Status st = parse_require_claims(value, kpath, out, ns);
      if (!st.ok()) return st;
    } else if (key == "max_payload") {
      Result<size_t> v = parse_size(value, kpath);
      if (!v.ok()) return v.status();
      out.max_payload = *v;
    } else if (key == "unknown_events") {
      Result<std::string> s = internal::read_string(value, kpath);
      if (!s.ok()) return s.status();
      if (*s == "reject") {
        out.unknown_events = UnknownEvents::kReject;
      } else if (*s == "forward") {
        out.unknown_events = UnknownEvents::kForward;
      } else {
        return path_error(kpath, "must be reject or forward");
      }
    } else if (key == "rate") {
      Result<RateSpec> r = parse_rate(value, kpath, budget);
      if (!r.ok()) return r.status();
      out.rate = *r;
    } else if (key == "events") {
      Result<Entries> events = internal::map_entries(value, kpath, budget);
      if (!events.ok()) return events.status();
      for (const auto& [ev_name, ev_node] : *events) {
        std::string epath = join_path(kpath, ev_name);
        if (ev_name.empty()) return path_error(epath, "event name must not be empty");
        if (is_reserved_event(ev_name)) return path_error(epath, "reserved event name");
        Result<EventPolicy> ev = parse_event(ev_name, ev_node, epath, ns);
        if (!ev.ok()) return ev.status();
        if (ev->rate) ev->rate_slot = out.rate_slots++;
        out.events.emplace(ev_name, std::move(ev).value());
      }
    } else if (key == "description") {
      if (!value.IsScalar()) return path_error(kpath, "must be a string");
    } else {
      return path_error(kpath, "unknown key");
    }
  }
  auto reads_claims = [](const std::vector<Template>& templates) {
    return std::any_of(templates.begin(), templates.end(),
                       [](const Template& t) { return t.uses(RefSource::kClaims); });
  };
  out.events_use_claims = reads_claims(out.join_allowed) || reads_claims(out.auto_join);
  for (const auto& [ev_name, ev] : out.events) {
    out.events_use_claims = out.events_use_claims || reads_claims(ev.rooms);
  }
  return out;
}

}  // namespace

std::string_view to_string(AuthMode mode) {
  switch (mode) {
    case AuthMode::kRequired:
      return "required";
    case AuthMode::kOptional:
      return "optional";
    case AuthMode::kNone:
      return "none";
  }
  return "required";
}

std::string_view to_string(ActionKind kind) {
  switch (kind) {
    case ActionKind::kRelay:
      return "relay";
    case ActionKind::kJoin:
      return "join";
    case ActionKind::kLeave:
      return "leave";
    case ActionKind::kForward:
      return "forward";
  }
  return "forward";
}

bool is_reserved_event(std::string_view name) {
  return std::find(kReservedEvents.begin(), kReservedEvents.end(), name) != kReservedEvents.end();
}

const EventPolicy* NamespacePolicy::find_event(std::string_view event) const {
  auto it = events.find(event);
  return it == events.end() ? nullptr : &it->second;
}

const NamespacePolicy* PolicySet::find(std::string_view ns, NamespaceMatch* out) const {
  auto it = exact_.find(ns);
  if (it != exact_.end()) {
    if (out != nullptr) {
      out->name = std::string(ns);
      out->captures.clear();
    }
    return &namespaces_[it->second];
  }
  std::vector<std::string> captures;
  for (size_t i : patterns_) {
    if (glob_capture(namespaces_[i].name, ns, &captures)) {
      if (out != nullptr) {
        out->name = std::string(ns);
        out->captures = std::move(captures);
      }
      return &namespaces_[i];
    }
  }
  return nullptr;
}

Result<PolicySet> parse_policy(const YAML::Node& namespaces_node, std::string_view path_prefix) {
  ParseBudget budget;
  std::string prefix(path_prefix);
  PolicySet set;
  try {
    Result<Entries> entries = internal::map_entries(namespaces_node, prefix, budget);
    if (!entries.ok()) return entries.status();
    for (const auto& [name, node] : *entries) {
      std::string path = join_path(prefix, name);
      if (name.empty() || name[0] != '/') {
        return path_error(path, "namespace names start with '/'");
      }
      Result<NamespacePolicy> ns = parse_namespace(name, node, path, budget);
      if (!ns.ok()) return ns.status();
      size_t index = set.namespaces_.size();
      if (ns->is_pattern) {
        set.patterns_.push_back(index);
      } else {
        set.exact_.emplace(name, index);
      }
      set.namespaces_.push_back(std::move(ns).value());
    }
  } catch (const YAML::Exception& e) {
    return path_error(prefix, e.what());
  }
  return set;
}

Result<PolicySet> parse_policy_document(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return invalid_argument(std::string("policy: ") + e.what());
  }
  if (!root.IsMap()) return invalid_argument("policy: the document must be a mapping");
  try {
    const YAML::Node& const_root = root;
    const YAML::Node namespaces = const_root["namespaces"];
    if (!namespaces) return invalid_argument("namespaces: missing");
    return parse_policy(namespaces, "namespaces");
  } catch (const YAML::Exception& e) {
    return invalid_argument(std::string("policy: ") + e.what());
  }
}

}  // namespace herald::policy
