#include "report/tensorboard.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/crc32c.h"
#include "core/error.h"
#include "image/png.h"

#ifdef ALEXNET_HAVE_TENSORBOARD
#include "report/tensorboard.pb.h"
#endif

namespace alexnet::report {

namespace fs = std::filesystem;

namespace {

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(char((v >> (8 * i)) & 0xFF));
}

}  // namespace

uint32_t mask_crc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u; }

std::string tfrecord(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  const uint64_t n = data.size();
  for (int i = 0; i < 8; ++i) out.push_back(char((n >> (8 * i)) & 0xFF));
  put_u32(out, mask_crc32c(crc32c(out.data(), 8)));
  out.append(data);
  put_u32(out, mask_crc32c(crc32c(data.data(), data.size())));
  return out;
}

#ifdef ALEXNET_HAVE_TENSORBOARD

bool tensorboard_built() { return true; }

namespace {

namespace pb = alexnet::tensorboard;

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// TensorBoard's file name: events.out.tfevents.<seconds>.<host>.<pid>.<n>; the counter keeps two
// writers of one process apart.
std::string events_file_name() {
  static std::atomic<int> counter{0};
  char host[256] = "localhost";
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "localhost");
  host[sizeof host - 1] = 0;
  return cat("events.out.tfevents.", int64_t(wall_time()), ".", host, ".", int64_t(getpid()), ".", counter++);
}

}  // namespace

TensorBoardWriter::TensorBoardWriter(const std::string& dir) : path_((fs::path(dir) / events_file_name()).string()) {
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) fail(path_, ": cannot create the TensorBoard events file (", std::strerror(errno), ")");
  pb::Event e;
  e.set_wall_time(wall_time());
  e.set_file_version("brain.Event:2");
  write_event(e.SerializeAsString());
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);
}

void TensorBoardWriter::write_event(const std::string& event) {
  const std::string record = tfrecord(event);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() || std::fflush(file_) != 0)
    fail(path_, ": cannot write (", std::strerror(errno), ")");
}

void TensorBoardWriter::start(int64_t step) {
  pb::Event e;
  e.set_wall_time(wall_time());
  e.set_step(step);
  e.mutable_session_log()->set_status(pb::SessionLog::START);
  write_event(e.SerializeAsString());
}

void TensorBoardWriter::scalars(int64_t step, const std::vector<std::pair<std::string, double>>& values) {
  pb::Event e;
  e.set_wall_time(wall_time());
  e.set_step(step);
  pb::Summary* s = e.mutable_summary();
  for (const auto& [tag, value] : values) {
    if (!std::isfinite(value)) continue;
    pb::Summary::Value* v = s->add_value();
    v->set_tag(tag);
    v->set_simple_value(float(value));
  }
  if (s->value_size() > 0) write_event(e.SerializeAsString());
}

void TensorBoardWriter::image(const std::string& tag, int64_t step, const Image& image) {
  const std::vector<uint8_t> png = encode_png(image);
  pb::Event e;
  e.set_wall_time(wall_time());
  e.set_step(step);
  pb::Summary::Value* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  pb::Summary::Image* im = v->mutable_image();
  im->set_height(image.height);
  im->set_width(image.width);
  im->set_colorspace(3);
  im->set_encoded_image_string(png.data(), png.size());
  write_event(e.SerializeAsString());
}

void TensorBoardWriter::hparams(const nlohmann::json& settings) {
  if (!settings.is_object()) fail("TensorBoard hparams: the settings are not a JSON object");
  pb::HParamsPluginData data;
  data.set_version(0);
  pb::SessionStartInfo* info = data.mutable_session_start_info();
  info->set_start_time_secs(wall_time());
  for (const auto& [key, value] : settings.items()) {
    pb::HParamValue& v = (*info->mutable_hparams())[key];
    if (value.is_boolean()) v.set_bool_value(value.get<bool>());
    else if (value.is_number()) v.set_number_value(value.get<double>());
    else if (value.is_string()) v.set_string_value(value.get<std::string>());
    else v.set_string_value(value.dump());
  }
  pb::Event e;
  e.set_wall_time(wall_time());
  pb::Summary::Value* sv = e.mutable_summary()->add_value();
  sv->set_tag("_hparams_/session_start_info");
  pb::SummaryMetadata::PluginData* plugin = sv->mutable_metadata()->mutable_plugin_data();
  plugin->set_plugin_name("hparams");
  plugin->set_content(data.SerializeAsString());
  // The plugin's value is an empty float tensor, as TensorBoard's own hparams summaries carry.
  pb::TensorProto* t = sv->mutable_tensor();
  t->set_dtype(1);
  t->mutable_tensor_shape()->add_dim()->set_size(0);
  write_event(e.SerializeAsString());
}

#else  // built without protobuf

bool tensorboard_built() { return false; }

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  fail(dir, ": cannot write TensorBoard event files: this build has no protobuf (install libprotobuf-dev and "
            "protobuf-compiler, then rebuild)");
}
TensorBoardWriter::~TensorBoardWriter() = default;
void TensorBoardWriter::write_event(const std::string&) {}
void TensorBoardWriter::start(int64_t) {}
void TensorBoardWriter::scalars(int64_t, const std::vector<std::pair<std::string, double>>&) {}
void TensorBoardWriter::image(const std::string&, int64_t, const Image&) {}
void TensorBoardWriter::hparams(const nlohmann::json&) {}

#endif

}  // namespace alexnet::report
