// The dashboard's HTTP side (hone/dashboard.h): Debian's cpp-httplib, kept to this one file.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <thread>

#include <httplib.h>

#include "hone/dashboard.h"
#include "hone/error.h"
#include "hone/report.h"
#include "report/dashboard_api.h"
#include "report/data.h"  // compute_views

namespace hone::report {

using json = nlohmann::json;

namespace {

constexpr const char* kCookie = "hone_token";
// When the request this thread serves arrived (a request is served start to end on one thread).
thread_local std::chrono::steady_clock::time_point t_request_start;

// Equal strings in time that depends on the expected token's length only.
bool token_equal(const std::string& given, const std::string& want) {
  volatile unsigned char diff = given.size() != want.size();
  for (size_t i = 0; i < want.size(); ++i)
    diff = diff | (static_cast<unsigned char>(want[i]) ^ static_cast<unsigned char>(i < given.size() ? given[i] : 0));
  return diff == 0;
}

std::string cookie_value(const httplib::Request& req, const std::string& name) {
  const std::string header = req.get_header_value("Cookie");
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    part.erase(0, part.find_first_not_of(' '));
    if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
    pos = end + 1;
  }
  return "";
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

void check_host(const std::string& host) {
  if (host.empty()) throw_invalid("dashboard: --host is empty (give an address such as 127.0.0.1 or 0.0.0.0)");
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) throw_invalid("dashboard: --host " + host + ": " + gai_strerror(rc));
  freeaddrinfo(res);
}

void check_token(const std::string& token) {
  if (token.size() < 8) throw_invalid("dashboard: --token must have at least 8 characters");
  for (char c : token)
    if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr("._~-", c))
      throw_invalid("dashboard: --token may only use letters, digits and . _ ~ - (it travels in URLs and cookies)");
}

// httplib compresses a compressible answer with the best encoding the client accepts, brotli at
// its slowest quality first (seconds for the plots' megabytes), and again for every request. So
// brotli is never offered to it, and the plots' cached data and page go uncompressed (their page
// is mostly base64 of gzip already). The request object is httplib's own, non-const, and this
// header is only read to choose the encoding.
void choose_encoding(const httplib::Request& req) {
  auto& headers = const_cast<httplib::Request&>(req).headers;
  auto it = headers.find("Accept-Encoding");
  if (it == headers.end()) return;
  const bool big = req.path.rfind("/study/", 0) == 0 ||
                   (req.path.size() > 5 && req.path.compare(req.path.size() - 5, 5, "/data") == 0);
  std::string kept;
  size_t pos = 0;
  const std::string& v = it->second;
  while (!big && pos <= v.size()) {
    size_t end = v.find(',', pos);
    if (end == std::string::npos) end = v.size();
    std::string token = v.substr(pos, end - pos);
    token.erase(0, token.find_first_not_of(' '));
    if (token.rfind("br", 0) != 0 && !token.empty()) kept += (kept.empty() ? "" : ", ") + token;
    pos = end + 1;
  }
  headers.erase(it);
  if (!kept.empty()) headers.emplace("Accept-Encoding", kept);
}

// The page and the API share these headers: nothing is cached without asking again, nothing is
// framed by other sites, no content type is guessed.
httplib::Headers default_headers() {
  // Scripts and styles are the pages' own, inline (the report's page evaluates its embedded
  // plotly.js); nothing is fetched from, sent to or framed by another origin.
  return {{"Content-Security-Policy",
           "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
           "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; "
           "base-uri 'none'; form-action 'none'"},
          {"X-Content-Type-Options", "nosniff"},
          {"X-Frame-Options", "SAMEORIGIN"},
          {"Referrer-Policy", "no-referrer"},
          {"Cache-Control", "no-cache"}};
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", message}}.dump() + "\n", "application/json");
}

std::map<std::string, std::string> query_params(const httplib::Request& req) {
  std::map<std::string, std::string> out;
  for (auto& [k, v] : req.params) out.emplace(k, v);  // the first of repeated keys
  return out;
}

}  // namespace

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

std::string random_token() {
  unsigned char bytes[16];
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  const bool ok = fd >= 0 && ::read(fd, bytes, sizeof bytes) == static_cast<ssize_t>(sizeof bytes);
  if (fd >= 0) ::close(fd);
  if (!ok) throw_io("dashboard: cannot read /dev/urandom to make a token (give one with --token)");
  static const char* const kHex = "0123456789abcdef";
  std::string s;
  for (unsigned char b : bytes) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

// The plots' data of one study (hone/report.h study_data), served to the report's live page. A
// cheap frame (trials, no importance) is rebuilt when the study changes, at most every so often;
// the costly part (fANOVA importance, contour, ablation: about a second at 10,000 trials) is
// computed by a background thread for the studies someone is looking at, and merged into the
// frames when ready. So the first plots of a big study do not wait for the forest.
struct StudyFrames {
  uint64_t version = 0;  // of the snapshot the cheap frame was read at (0: none yet)
  json cheap;            // study_data without importance
  json extra;            // what only the full data has: importance, contour, ablation, ...
  json merged;           // cheap + extra
  uint64_t full_version = 0;
  std::shared_ptr<const std::string> body;  // cheap + extra, dumped
  std::shared_ptr<const std::string> html;  // the live page built from `body`'s data
  std::chrono::steady_clock::time_point cheap_at{}, full_at{}, wanted_at{};
  double cheap_s = 0, full_s = 0;
};

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

struct Dashboard::Impl {
  DashboardOptions opt;
  TrialCache cache;
  httplib::Server svr;
  int port = 0;
  bool generated = false;
  std::string nonce;  // this server's run in every ETag, so a restarted server never answers 304 wrongly
  std::atomic<bool> stopping{false};

  std::mutex frames_mu;
  std::condition_variable frames_cv;
  std::map<int64_t, StudyFrames> frames;
  std::thread importance_thread;

  Impl(std::shared_ptr<Storage> storage, DashboardOptions o) : opt(std::move(o)), cache(std::move(storage)) {}
  ~Impl() {
    {
      std::lock_guard lock(frames_mu);
      stopping.store(true);
    }
    frames_cv.notify_all();
    if (importance_thread.joinable()) importance_thread.join();
  }

  // Merges the costly part into the cheap frame and dumps it (frames_mu held).
  static void publish(StudyFrames& f) {
    f.merged = f.cheap;
    for (auto& [k, v] : f.extra.items()) f.merged[k] = v;
    f.merged["views"] = compute_views(f.merged);
    f.body = std::make_shared<const std::string>(f.merged.dump(-1, ' ', false, json::error_handler_t::replace));
    f.html.reset();
  }

  // The current frame of study `s`, rebuilt from the storage when the study changed and the last
  // rebuild is old enough (at most ~1/4 of the time goes to rebuilding a busy study's frame).
  std::shared_ptr<const std::string> frame(const StudySnapshot& s, std::shared_ptr<const std::string>* html = nullptr,
                                           const PageOptions* page = nullptr) {
    std::unique_lock lock(frames_mu);
    StudyFrames& f = frames[s.id];
    f.wanted_at = std::chrono::steady_clock::now();
    const bool stale = f.version != s.version &&
                       (!f.body || since(f.cheap_at) >= std::max(opt.refresh_s, 4 * f.cheap_s));
    if (stale) {
      lock.unlock();
      const auto t0 = std::chrono::steady_clock::now();
      json cheap = study_data(cache.storage(), s.id, {.importance = false, .ablation = false});
      const double took = since(t0);
      lock.lock();
      StudyFrames& g = frames[s.id];
      if (g.version < s.version) {
        g.cheap = std::move(cheap);
        g.version = s.version;
        g.cheap_at = std::chrono::steady_clock::now();
        g.cheap_s = took;
        publish(g);
      }
      frames_cv.notify_all();  // the importance thread may have work now
    }
    StudyFrames& g = frames[s.id];
    if (html && page) {
      if (!g.html) g.html = std::make_shared<const std::string>(study_html(g.merged, *page));
      *html = g.html;
    }
    return g.body;
  }

  // Background: the full data (importance, ...) of studies viewed in the last minute whose frame
  // moved on, each at most every max(10 s, 5 x its cost).
  void importance_loop() {
    std::unique_lock lock(frames_mu);
    while (!stopping.load()) {
      int64_t todo = -1;
      uint64_t version = 0;
      for (auto& [id, f] : frames)
        if (f.version && f.full_version != f.version && since(f.wanted_at) < 60 &&
            (f.full_version == 0 || since(f.full_at) >= std::max(10.0, 5 * f.full_s))) {
          todo = id;
          version = f.version;
          break;
        }
      if (todo < 0) {
        frames_cv.wait_for(lock, std::chrono::seconds(1));
        continue;
      }
      lock.unlock();
      json full;
      const auto t0 = std::chrono::steady_clock::now();
      try {
        full = study_data(cache.storage(), todo, {});
      } catch (const std::exception&) {
        full = json();  // deleted meanwhile, or the storage failed: the cheap frames say so
      }
      const double took = since(t0);
      lock.lock();
      auto it = frames.find(todo);
      if (it == frames.end()) continue;
      StudyFrames& f = it->second;
      f.full_version = version;
      f.full_at = std::chrono::steady_clock::now();
      f.full_s = took;
      if (full.is_object()) {
        json extra = json::object();
        for (auto& [k, v] : full.items())
          if (!f.cheap.contains(k)) extra[k] = v;
        f.extra = std::move(extra);
        publish(f);
      }
    }
  }

  bool authorized(const httplib::Request& req, bool* by_query) const {
    *by_query = false;
    const std::string& t = opt.token;
    const std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) == 0 && token_equal(auth.substr(7), t)) return true;
    if (req.has_param("token") && token_equal(req.get_param_value("token"), t)) return *by_query = true;
    return token_equal(cookie_value(req, kCookie), t);
  }

  // Answers 304 when the client already holds `etag`; otherwise the body `make` builds.
  static void send_json(const httplib::Request& req, httplib::Response& res, const std::string& etag,
                        const std::function<std::string()>& make) {
    if (!etag.empty() && req.get_header_value("If-None-Match") == etag) {
      res.status = 304;
      res.set_header("ETag", etag);
      return;
    }
    res.set_content(make(), "application/json");
    if (!etag.empty()) res.set_header("ETag", etag);
  }

  // Runs a handler, turning hone errors into JSON answers (400 for bad queries, 500 otherwise).
  static httplib::Server::Handler guarded(std::function<void(const httplib::Request&, httplib::Response&)> f) {
    return [f = std::move(f)](const httplib::Request& req, httplib::Response& res) {
      try {
        f(req, res);
      } catch (const Error& e) {
        send_error(res, e.kind() == ErrorKind::kInvalidArgument ? 400 : 500, e.what());
      } catch (const std::exception& e) {
        send_error(res, 500, e.what());
      }
    };
  }

  std::shared_ptr<const StudySnapshot> study_or_404(const httplib::Request& req, httplib::Response& res) {
    const int64_t id = std::stoll(req.matches[1]);
    auto s = cache.study(id);
    if (!s) send_error(res, 404, "no study with id " + std::to_string(id));
    return s;
  }

  void routes() {
    svr.set_default_headers(default_headers());
    // SO_REUSEADDR (restart at once after a stop) but not httplib's default SO_REUSEPORT, with
    // which a second dashboard on the same port would bind and share the requests silently.
    svr.set_socket_options([](int sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    svr.set_keep_alive_timeout(1);  // stop() waits for idle keep-alive connections at most this long
    svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      t_request_start = std::chrono::steady_clock::now();
      choose_encoding(req);
      if (req.method != "GET" && req.method != "HEAD") {  // read-only: nothing here writes
        res.set_header("Allow", "GET, HEAD");
        send_error(res, 405, "the dashboard is read-only (GET and HEAD only)");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (opt.token.empty()) return httplib::Server::HandlerResponse::Unhandled;
      bool by_query = false;
      if (!authorized(req, &by_query)) {
        res.set_header("WWW-Authenticate", "Bearer");
        res.status = 401;
        res.set_content("401 Unauthorized: this dashboard needs its token. Open the URL `hone dashboard` printed "
                        "(it ends in ?token=...) or send the header \"Authorization: Bearer TOKEN\".\n",
                        "text/plain");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (by_query)  // a browser link: later requests of the page carry the cookie instead
        res.set_header("Set-Cookie", std::string(kCookie) + "=" + opt.token + "; Path=/; HttpOnly; SameSite=Strict");
      return httplib::Server::HandlerResponse::Unhandled;
    });

    if (opt.access_log)
      svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_request_start).count();
        opt.access_log(req.method + " " + req.path + " " + std::to_string(res.status) + " " +
                       std::to_string(static_cast<int>(ms + 0.5)) + " ms");
      });

    svr.Get("/", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(dashboard_page(opt.storage_label, opt.refresh_s), "text/html; charset=utf-8");
    });
    svr.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });

    svr.Get("/api/studies", guarded([this](const httplib::Request& req, httplib::Response& res) {
              json list = json::array();
              const double now = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
              for (auto& s : cache.studies()) list.push_back(summary_json(*s, now));
              json body = {{"storage", opt.storage_label}, {"refresh_s", opt.refresh_s}, {"studies", std::move(list)}};
              // Rates and ETAs move with the clock: no ETag, a small answer each time.
              send_json(req, res, "", [&] { return body.dump(); });
            }));

    svr.Get(R"(/api/studies/(\d{1,18})/data)", guarded([this](const httplib::Request& req, httplib::Response& res) {
              auto s = study_or_404(req, res);
              if (!s) return;
              auto body = frame(*s);
              res.set_content(body->data(), body->size(), "application/json");
            }));

    // The report's page of one study, live: it re-reads ../api/studies/ID/data.
    svr.Get(R"(/study/(\d{1,18}))", guarded([this](const httplib::Request& req, httplib::Response& res) {
              auto s = study_or_404(req, res);
              if (!s) return;
              const PageOptions page{.title = "hone dashboard: " + s->name,
                                     .live = true,
                                     .data_url = "../api/studies/" + std::to_string(s->id) + "/data",
                                     .refresh_s = std::max(5.0, opt.refresh_s)};
              std::shared_ptr<const std::string> html;
              frame(*s, &html, &page);
              res.set_content(html->data(), html->size(), "text/html; charset=utf-8");
            }));

    svr.Get(R"(/api/studies/(\d{1,18})/trials)", guarded([this](const httplib::Request& req, httplib::Response& res) {
              auto s = study_or_404(req, res);
              if (!s) return;
              const TrialQuery q = parse_trial_query(query_params(req));
              const std::string etag = "\"" + nonce + "-" + std::to_string(s->id) + "-" + std::to_string(s->version) +
                                       "-" + std::to_string(std::hash<std::string>{}(req.target)) + "\"";
              send_json(req, res, etag, [&] { return trials_page(*s, q).dump(); });
            }));
  }
};

Dashboard::Dashboard(std::shared_ptr<Storage> storage, DashboardOptions options)
    : impl_(std::make_unique<Impl>(std::move(storage), std::move(options))) {
  DashboardOptions& o = impl_->opt;
  if (o.port < 0 || o.port > 65535)
    throw_invalid("dashboard: --port must be in 0..65535 (got " + std::to_string(o.port) + ")");
  if (!(o.refresh_s > 0)) throw_invalid("dashboard: the refresh interval must be positive");
  check_host(o.host);
  if (!o.token.empty()) check_token(o.token);
  if (o.token.empty() && !is_loopback_host(o.host)) {
    o.token = random_token();
    impl_->generated = true;
  }
  impl_->nonce = random_token().substr(0, 8);
  impl_->routes();
  impl_->importance_thread = std::thread([impl = impl_.get()] { impl->importance_loop(); });
  errno = 0;
  if (o.port == 0) {
    impl_->port = impl_->svr.bind_to_any_port(o.host);
  } else {
    impl_->port = impl_->svr.bind_to_port(o.host, o.port) ? o.port : -1;
  }
  if (impl_->port < 0)
    throw_invalid("dashboard: cannot listen on " + url_host(o.host) + ":" + std::to_string(o.port) + " (" +
                  (errno ? std::strerror(errno) : "bind failed") + ")");
}

Dashboard::~Dashboard() { stop(); }

int Dashboard::port() const { return impl_->port; }
const std::string& Dashboard::token() const { return impl_->opt.token; }
bool Dashboard::token_generated() const { return impl_->generated; }

std::string Dashboard::url() const {
  std::string u = "http://" + url_host(impl_->opt.host) + ":" + std::to_string(impl_->port) + "/";
  if (!impl_->opt.token.empty()) u += "?token=" + impl_->opt.token;
  return u;
}

void Dashboard::run(const std::atomic<bool>* stop_flag) {
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    // stop() does nothing before the server runs, so keep asking until listen_after_bind returns.
    while (!done.load()) {
      if ((stop_flag && stop_flag->load()) || impl_->stopping.load()) impl_->svr.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  if (!impl_->stopping.load()) impl_->svr.listen_after_bind();
  done.store(true);
  watcher.join();
}

void Dashboard::stop() {
  impl_->stopping.store(true);
  impl_->svr.stop();
}

}  // namespace hone::report
