/* The program of the static-library case: all it does is call the library's check. */
int conv_check_main(void);
int main(void) { return conv_check_main(); }
