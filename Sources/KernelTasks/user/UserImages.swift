#if hasFeature(Embedded)
import KernelSupport

/// The EL0 program images embedded by user_images.S.
enum UserImages {
    static var initProgram: UnsafeRawBufferPointer {
        let start = mm_user_image_init_start_address()
        let end = mm_user_image_init_end_address()
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(start)), count: Int(end - start))
    }
}
#endif
