"""Real CDR samples of sensor_msgs/msg/Image and CompressedImage as rclpy serializes them
(the bytes a DDS reader gets), for the ros2_cdr fuzz seeds: the first byte is the target's
selector (bit 0: CompressedImage, bit 1: big-endian), then the sample without its 4-byte
encapsulation header.

    $LOOKOUT_TEST_PYTHON ros2_capture.py OUT_DIR JPEG_FILE PNG_FILE"""
import sys
from rclpy.serialization import serialize_message
from sensor_msgs.msg import CompressedImage, Image

out = sys.argv[1]
jpeg = open(sys.argv[2], "rb").read()
png = open(sys.argv[3], "rb").read()

def save(name, selector, msg):
    b = serialize_message(msg)
    assert b[:2] == b"\x00\x01", b[:4]  # CDR_LE
    open(f"{out}/{name}", "wb").write(bytes([selector]) + b[4:])

def img(enc, w, h, bpp, big=0):
    m = Image(height=h, width=w, encoding=enc, is_bigendian=big, step=w * bpp)
    m.header.stamp.sec, m.header.stamp.nanosec = 1700000000, 123
    m.header.frame_id = "camera"
    m.data = bytes((i * 7) % 256 for i in range(w * bpp * h))
    return m

save("image_rgb8_4x3.bin", 0, img("rgb8", 4, 3, 3))
save("image_mono16_4x2.bin", 0, img("mono16", 4, 2, 2))
save("image_32FC1_2x2.bin", 0, img("32FC1", 2, 2, 4))
save("image_bayer_rggb8_4x4.bin", 0, img("bayer_rggb8", 4, 4, 1))
save("image_yuv422_4x2.bin", 0, img("yuv422", 4, 2, 2))
c = CompressedImage(format="rgb8; jpeg compressed bgr8", data=jpeg)
c.header.frame_id = "camera"
save("compressed_jpeg.bin", 1, c)
save("compressed_png.bin", 1, CompressedImage(format="png", data=png))
